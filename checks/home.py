"""The runtime home: which one is in use and why, and whether its files are there.

paths.home
    What it checks: the home chosen by --home, CLAUDEX_GATEWAY_HOME, XDG or the
    legacy name, and whether it exists as a directory.
    Why it matters: every other file of the stack lives there.
    Fix safety: `bootstrap` creates a missing home (confirm: it writes several
    files and installs the wrapper); it never moves or renames an existing one.
"""

from __future__ import annotations

from claudex_doctor.graph import check
from claudex_doctor.model import Fix, failed, passed
from claudex_doctor.paths import HOME_NAME, LEGACY_HOME_NAME, display, resolve_home

from ._pending import not_implemented

REF = "references/home.md"


@check("paths.home", "Runtime home", reference=f"{REF}#runtime-home-missing", fixes=("bootstrap",))
def paths_home(ctx):
    p = ctx.paths
    home = display(p.home, p.user_home)
    evidence = {"home": home, "reason": p.home_reason, "why": p.home_explanation}
    data = p.home.parent
    legacy = data / LEGACY_HOME_NAME
    if p.home.is_dir():
        details = []
        if p.home_reason == "xdg" and legacy.is_dir():
            details.append(f"A legacy home also exists at {display(legacy, p.user_home)}; it is not used while "
                           f"{HOME_NAME} exists. Nothing was moved.")
        if p.home_reason == "legacy":
            details.append(f"This is the legacy name; set CLAUDEX_GATEWAY_HOME to keep using it explicitly. "
                           "The doctor never renames a home.")
        return passed(f"{home} ({p.home_explanation})", details, evidence)
    if p.home.exists():
        return failed(f"{home} exists but is not a directory", [p.home_explanation], evidence,
                      reference=f"{REF}#runtime-home-missing",
                      fix=Fix.manual("Move the file away, then create the home", f"mv {home} {home}.bak && claudex-doctor bootstrap"))
    details = [f"Chosen because it is the {p.home_explanation}."]
    if p.home_reason in ("env", "option"):
        env = {k: v for k, v in ctx.env.items() if k != "CLAUDEX_GATEWAY_HOME"}
        default = resolve_home(env, p.user_home).path
        if default != p.home and default.is_dir():
            details.append(f"A home exists at {display(default, p.user_home)}: point CLAUDEX_GATEWAY_HOME (or --home) there, "
                           "or unset it.")
    details.append("Without a home there is no proxy config, launcher, env file or proxy auth.")
    return failed(f"no runtime home at {home}", details, evidence, reference=f"{REF}#runtime-home-missing",
                  fix=Fix.confirm("bootstrap", "Create the runtime home, the proxy binary and the claudex wrapper"))


home_layout = check("home.layout", "Home layout and permissions", needs=("paths.home",),
                    reference="references/home.md#home-layout-incomplete", fixes=("bootstrap",))(not_implemented)
