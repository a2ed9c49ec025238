"""`claudex-doctor explain`: topics discovered from the installed pages, aliases, lookups, rendering."""

from __future__ import annotations

import json

import pytest

from claudex_doctor.errors import UnknownTopic
from claudex_doctor.help import explain, refs
from claudex_doctor.help.explain import aliases, lookup, render_list, render_plain, render_rich, topics


@pytest.fixture
def tmp_library(tmp_path):
    (tmp_path / "alpha.md").write_text("# Alpha things\n\nIntro.\n\n## First part\n\none\n\n### Detail\n\nd\n\n"
                                       "## Second part\n\ntwo\n")
    (tmp_path / "auth.md").write_text("# Credentials\n\n## Something else\n\nx\n")
    (tmp_path / "notes.txt").write_text("not a page")
    return refs.Library(tmp_path)


def test_topics_are_the_installed_pages_plus_aliases():
    items = topics()
    pages = [t.name for t in items if t.kind == "page"]
    assert pages == refs.library().names()
    assert {"litellm", "stack"} <= set(pages)
    for t in items:
        assert t.title and "\n" not in t.title, t
    aliases = {t.name: t for t in items if t.kind == "alias"}
    assert aliases["oauth"].anchor == "an-oauth-token-is-not-an-api-key"
    assert aliases["flow"].page == "stack"


def test_pages_are_discovered_not_listed(tmp_library):
    items = topics(tmp_library)
    assert [t.name for t in items if t.kind == "page"] == ["alpha", "auth"]
    by_name = {t.name: t for t in items}
    assert by_name["alpha"].title == "Alpha things"
    # aliases only for installed pages; a vanished heading falls back to the page
    assert by_name["auth-sync"].page == "auth" and by_name["refresh-token-race"].anchor is None
    assert "oauth" not in by_name and "flow" not in by_name


def test_alias_to_a_missing_heading_shows_the_whole_page(tmp_library):
    found = lookup("refresh-token-race", tmp_library)
    assert found.heading is None and found.markdown.startswith("# Credentials")


def test_lookup_forms(tmp_library):
    assert lookup("alpha", tmp_library).heading is None
    assert lookup("ALPHA", tmp_library).page.name == "alpha"
    section = lookup("references/alpha.md#first-part", tmp_library)
    assert section.title == "First part"
    assert section.markdown.startswith("## First part") and "### Detail" in section.markdown
    assert "Second part" not in section.markdown
    assert lookup("alpha#second-part", tmp_library).markdown.strip().endswith("two")
    assert lookup("alpha.md", tmp_library).heading is None


def test_lookup_a_check_id_shows_the_section_it_links_to():
    found = lookup("route.litellm")
    assert found.page.name == "litellm" and found.heading.anchor == "litellm-in-the-path"
    for word in ("**Cause.**", "**Confirm.**", "**Fix**"):
        assert word in found.markdown


def test_unknown_topic_offers_close_matches():
    with pytest.raises(UnknownTopic) as caught:
        lookup("litelm")
    assert "litellm" in caught.value.suggestions
    assert "did you mean" in caught.value.message() and "litellm" in caught.value.message()
    with pytest.raises(UnknownTopic) as caught:
        lookup("references/litellm.md#litellm-in-the-pat")
    assert "litellm#litellm-in-the-path" in caught.value.suggestions
    with pytest.raises(UnknownTopic):
        lookup("zzzzzz-nothing")


def test_no_alias_hides_a_page():
    assert not set(aliases()) & set(refs.library().names())


@pytest.mark.parametrize("alias", sorted(a for a, (_, anchor) in aliases().items() if anchor))
def test_every_alias_points_at_a_page_and_heading_that_exist(alias):
    page_name, anchor = aliases()[alias]
    assert page_name in refs.library().names(), f"alias {alias}: there is no references/{page_name}.md"
    page = refs.library().page(page_name)
    assert page.heading(anchor) is not None, f"alias {alias}: {page.path} has no heading #{anchor}"


def test_render_list_is_plain_text():
    text = render_list(topics())
    assert text.startswith("Topics")
    assert "litellm" in text and "stack" in text and "->" in text
    assert "\x1b[" not in text


def test_render_plain_and_rich():
    found = lookup("oauth")
    plain = render_plain(found)
    assert plain.startswith("## An OAuth token is not an API key")
    assert "claudex-doctor explain litellm" in plain
    out = render_rich(found, color=True, width=90)
    assert "An OAuth token is not an API key" in out and "\x1b[" in out and "## " not in out


def test_to_dict_shape():
    data = lookup("litellm").to_dict()
    assert set(data) >= {"topic", "title", "path", "headings", "markdown"}
    assert data["path"] == "references/litellm.md" and data["anchor"] is None
    assert {"title": "LiteLLM in the path", "anchor": "litellm-in-the-path", "level": 2} in data["headings"]


# -- the command, as a user runs it --------------------------------------------------

def test_cli_lists_topics(cli, tmp_path):
    proc = cli("explain", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "litellm" in proc.stdout and "stack" in proc.stdout
    listed = json.loads(cli("explain", "--json", cwd=tmp_path).stdout)
    assert {t["topic"] for t in listed["topics"]} >= {"litellm", "stack", "oauth"}


def test_cli_renders_a_page_as_markdown_when_piped(cli, tmp_path):
    proc = cli("explain", "litellm", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# LiteLLM")
    assert "## LiteLLM in the path" in proc.stdout and "\x1b[" not in proc.stdout


def test_cli_json(cli, tmp_path):
    proc = cli("explain", "stack", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["topic"] == "stack" and data["path"] == "references/stack.md"
    assert data["title"] == refs.library().page("stack").title
    assert all(set(h) >= {"title", "anchor"} for h in data["headings"])
    assert data["markdown"] == refs.library().page("stack").markdown


def test_cli_unknown_topic_exits_2_with_suggestions(cli, tmp_path):
    proc = cli("explain", "litelm", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "unknown topic" in proc.stderr and "litellm" in proc.stderr
    proc = cli("explain", "litelm", "--json", cwd=tmp_path)
    assert proc.returncode == 2
    assert "litellm" in json.loads(proc.stdout)["suggestions"]


def test_module_keeps_heavy_imports_lazy():
    import subprocess
    import sys
    code = ("import sys, claudex_doctor.help.explain, claudex_doctor.help.refs, claudex_doctor.commands.explain; "
            "print(sorted(m for m in ('rich', 'markdown_it') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    assert explain.__doc__


# -- an error text as the user saw it -------------------------------------------------------

# Pasted as users posted them in public issues (the source after each), and as the pinned proxy logs them.
PASTED = [
    ("⎿  Invalid API key · Fix external API key", "apikeyhelper_overrides_gateway_token", "apikeyhelper_invalid_key",
     "claude-code.md#apikeyhelper-overrides-the-gateway-token"),  # anthropics/claude-code#11587
    ('{"error":{"code":"model_cooldown","message":"All credentials for model gpt-5.6-sol are cooling down",'
     '"model":"gpt-5.6-sol","reset_seconds":561635,"reset_time":"156h0m34s"}}',
     "model_cooldown_stale_after_quota", "model_cooldown", "proxy-state.md#model-cooling-down"),  # CLIProxyAPI#4724
    ("API Error: 408 stream error: stream disconnected before completion: stream closed before response.completed",
     "stream_closed_before_response_completed_408", "stream_closed_before_completed",
     "proxy-state.md#credential-benched-after-a-transient-error"),  # CLIProxyAPI#3321
    ('{"error":{"message":"empty_stream: upstream stream closed before first payload","type":"server_error"}}',
     "empty_stream_before_first_payload", "empty_stream",
     "proxy-state.md#credential-benched-after-a-transient-error"),  # CLIProxyAPI#2986
    ("{\"detail\":\"The 'gpt-5.6-sol' model requires a newer version of Codex. Please upgrade to the latest app or "
     "CLI and try again.\"}", "model_requires_newer_codex", "model_requires_newer_codex",
     "failures.md#model-requires-a-newer-codex"),  # multica-ai/multica#8088
    ('⎿  API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"messages.1.content.0: '
     'Invalid `signature` in `thinking` block"}}', "invalid_thinking_signature", "thinking_signature_invalid",
     "failures.md#thinking-signature-from-another-provider"),  # anthropics/claude-code#71111
    ("[codex_executor.go:360] request error, error status: 400, error message: Unknown parameter: "
     "'tools.defer_loading'.", "unknown_parameter_after_client_update", "unsupported_parameter",
     "probes.md#unsupported-parameter"),  # CLIProxyAPI#1725
    ("unexpected status 401 Unauthorized: **We got your request, but your ChatGPT login did not make it to this "
     "service**., url: https://chatgpt.com/backend-api/codex", "tls_interception_corporate_proxy",
     "chatgpt_login_not_received", "network.md#tls-inspection-or-a-corporate-proxy"),  # openai/codex#12764
    ("[2026-11-24 02:55:29] [--------] [warn ] [openai_auth.go:320] Token refresh attempt 1 failed with "
     "non-retryable error: token refresh failed with status 401: {\"error\": {\"message\": \"Your refresh token has "
     "already been used to generate a new access token. Please try signing in again.\", \"code\": "
     "\"refresh_token_reused\"}}", "refresh_token_reused_race", "refresh_token_reused", "auth.md#refresh-token-race"),
    ("Unexpected status 502 Bad Gateway: Unknown error, url: http://127.0.0.1:15721/v1/responses",
     "http_proxy_without_no_proxy_loopback", "loopback_via_http_proxy",
     "network.md#proxy-variables-catch-loopback-traffic"),  # farion1231/cc-switch#4686
]


@pytest.mark.parametrize("text, mode, signature, section", PASTED, ids=[p[1] for p in PASTED])
def test_a_pasted_error_finds_its_failure_mode_and_page(text, mode, signature, section):
    found = lookup(text)
    assert found.matched is not None and found.matched["mode"] == mode and found.matched["signature"] == signature
    page, anchor = section.split(".md#")
    assert found.page.name == page and found.heading is not None and found.heading.anchor == anchor
    for word in ("Cause", "Confirm", "Fix"):
        assert word in found.markdown


def test_a_quote_without_a_signature_is_found_too():
    found = lookup("L API Key: apiKeyHelper")  # what /status shows, from the reports
    assert found.matched["by"] == "quote" and found.matched["signature"] is None
    assert found.matched["mode"] == "apikeyhelper_overrides_gateway_token"


def test_a_pasted_secret_is_never_echoed():
    token = "sk-CANARY" + "x7Qp2Lm9Zr4Tw8Yv3Nb6Hc1Jd5Kf0Gs"
    found = lookup(f"curl -H 'Authorization: Bearer {token}' -> Invalid API key · Fix external API key")
    assert token not in json.dumps(found.to_dict()) and token not in render_plain(found)
    with pytest.raises(UnknownTopic) as caught:
        lookup(f"nothing known here at all {token}")
    assert token not in caught.value.message()


def test_a_secret_cut_by_the_echo_limit_is_masked_before_the_cut():
    """The echo keeps 160 characters: a token that straddles the cut must not leave a visible piece."""
    token = "sk-CANARY" + "q4Wm8Zt2Lp6Rv0Ny3Kc7Hb1Jf5Gd9Xs"
    asked = "z" * 145 + " " + token  # 14 characters of the token before the cut: too short to look like a key
    with pytest.raises(UnknownTopic) as caught:
        lookup(asked)
    message = caught.value.message()
    assert not any(token[i:i + 10] in message for i in range(len(token) - 9))


def test_cli_explains_a_pasted_error_with_json_naming_mode_and_signature(cli, tmp_path):
    text = "API Error: 429 All credentials for model gpt-5.5 are cooling down via provider codex"
    proc = cli("explain", text, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["matched"]["mode"] == "model_cooldown_stale_after_quota"
    assert data["matched"]["signature"] == "model_cooldown" and data["anchor"] == "model-cooling-down"
    plain = cli("explain", text, cwd=tmp_path)
    assert plain.returncode == 0 and plain.stdout.startswith("Recognised: 429 model_cooldown")
    assert "Fix (safe): claudex-doctor restart" in plain.stdout and "## Model cooling down" in plain.stdout
