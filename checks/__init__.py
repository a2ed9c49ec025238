"""The check catalog. One module per concern; this tuple is the registry.

Ids are a public contract (scripts and agents key on them): add, never rename.
Order here is the report's order within the dependency order.
"""

from __future__ import annotations

from claudex_doctor.checks import (
    auth,
    binaries,
    claude_settings,
    config,
    env,
    home,
    knowledge,
    litellm,
    logs,
    network,
    port,
    probes,
    proxy,
    quota,
    wrapper,
)
from claudex_doctor.checks._context import StackContext
from claudex_doctor.core.graph import Check, Graph

__all__ = ["CHECKS", "StackContext", "graph"]

CHECKS: tuple[Check, ...] = (
    home.paths_home,
    binaries.bin_claude,
    binaries.bin_codex,
    binaries.bin_proxy,
    binaries.bin_proxy_version,
    binaries.bin_go,
    binaries.bin_git,
    home.home_layout,
    config.config_valid,
    config.config_exposure,
    env.env_consistency,
    env.env_mapping,
    env.env_context_window,
    claude_settings.claude_settings,
    network.env_proxy_vars,
    auth.auth_codex,
    auth.auth_proxy,
    auth.auth_sync,
    port.port_owner,
    proxy.proxy_health,
    proxy.proxy_models,
    probes.probe_messages,
    probes.probe_stream,
    probes.probe_tool_use,
    probes.probe_count_tokens,
    wrapper.wrapper_installed,
    wrapper.wrapper_passthrough,
    litellm.route_litellm,
    logs.logs_errors,
    quota.quota_codex,
    knowledge.knowledge_freshness,
)


def graph() -> Graph:
    return Graph(CHECKS, context=StackContext)
