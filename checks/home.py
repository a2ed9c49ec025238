"""The runtime home: which one is in use and why, and whether its files are there.

paths.home
    What it checks: the home chosen by --home, CLAUDEX_GATEWAY_HOME, XDG or the
    legacy name, and whether it exists as a directory.
    Why it matters: every other file of the stack lives there.
    Fix safety: `bootstrap` creates a missing home (confirm: it writes several
    files and installs the wrapper); it never moves or renames an existing one.

home.layout
    What it checks: config.yaml, run.sh (executable), the env file and auth/ are
    there and of the right kind; the env file (it holds the local api key) is not
    readable by other users (0600) and auth/ is private (0700).
    Why it matters: the launcher, the wrapper and the proxy each need one of these;
    loose permissions hand the local key or the OAuth tokens to other accounts.
    Fix safety: `bootstrap` (confirm) creates what is missing and keeps existing
    files; permissions and a non-executable launcher are fixed by hand (chmod).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claudex_doctor.base import files
from claudex_doctor.base.paths import HOME_NAME, LEGACY_HOME_NAME, display, resolve_home
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, passed, warned

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/home.md"


@check("paths.home", "Runtime home", reference=f"{REF}#runtime-home-missing", fixes=("bootstrap",))
def paths_home(ctx: StackContext):
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
            details.append("This is the legacy name; set CLAUDEX_GATEWAY_HOME to keep using it explicitly. "
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


def _layout_entries(p):
    """(label, path, kind, private_mode) for each piece of the home the layout check looks at."""
    return (
        ("config.yaml", p.config, "file", None),
        ("run.sh", p.launcher, "launcher", None),
        (p.env_file.name, p.env_file, "file", 0o600),
        ("auth/", p.auth_dir, "dir", 0o700),
    )


def _service_entries(p):
    """(label, path, kind) for what the primitives write in the home: judged only when present."""
    return (
        ("pidfile", p.pidfile, "file"),
        ("log", p.log_file, "file"),
        ("journal", p.journal, "file"),
        ("backups/", p.backups, "dir"),
    )


def _odd_service_entries(p) -> list[str]:
    """Service files that are not what they should be: the primitives refuse to write through them."""
    import os
    import stat

    home = files.real_path(p.home)
    odd = []
    for _label, path, kind in _service_entries(p):
        shown = display(path, p.user_home)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            odd.append(f"{shown} cannot be examined ({exc.strerror or exc})")
            continue
        if stat.S_ISLNK(st.st_mode):
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError):
                odd.append(f"{shown} is a broken or looping link")
                continue
            if kind == "file" or home not in (real, *real.parents):
                odd.append(f"{shown} is a link (to {display(real, p.user_home)}): claudex-doctor does not "
                           "write through it")
            continue
        if kind == "dir" and not stat.S_ISDIR(st.st_mode):
            odd.append(f"{shown} is not a directory")
        elif kind == "file" and not stat.S_ISREG(st.st_mode):
            odd.append(f"{shown} is not a regular file")
    return odd


@check("home.layout", "Home layout and permissions", needs=("paths.home",),
       reference=f"{REF}#home-layout-incomplete", fixes=("bootstrap", "manual"))
def home_layout(ctx: StackContext):
    import os
    import stat

    p = ctx.paths
    missing, wrong_kind, not_exec, loose = [], [], [], []
    evidence: dict = {}
    for label, path, kind, private in _layout_entries(p):
        shown = display(path, p.user_home)
        try:
            st = path.stat()
        except FileNotFoundError:
            missing.append(label)
            evidence[label] = "missing"
            continue
        except OSError as exc:
            wrong_kind.append(f"{label} cannot be examined ({exc.strerror or exc})")
            evidence[label] = "unreadable"
            continue
        mode = stat.S_IMODE(st.st_mode)
        evidence[label] = f"{mode:04o}"
        is_dir = stat.S_ISDIR(st.st_mode)
        if kind == "dir" and not is_dir:
            wrong_kind.append(f"{shown} is not a directory")
        elif kind != "dir" and not stat.S_ISREG(st.st_mode):
            wrong_kind.append(f"{shown} is not a regular file")
        elif kind == "launcher" and not os.access(path, os.X_OK):
            not_exec.append(shown)
        elif private is not None and mode & 0o077:
            loose.append((label, shown, mode, private))
    wrong_kind += _odd_service_entries(p)
    if missing:
        names = ", ".join(missing)
        details = [f"Missing from {display(p.home, p.user_home)}: {names}."] + wrong_kind + \
            [f"{x} is not executable" for x in not_exec] + \
            ["`claudex-doctor bootstrap` creates what is missing and leaves existing files as they are."]
        return failed(f"the home is incomplete: {names} missing", details, evidence,
                      reference=f"{REF}#home-layout-incomplete",
                      fix=Fix.confirm("bootstrap", "create the missing files of the home (existing files are kept)"))
    if wrong_kind:
        return failed(wrong_kind[0], wrong_kind[1:], evidence, reference=f"{REF}#home-layout-incomplete",
                      fix=Fix.manual("Move the odd entry aside, then let bootstrap recreate it",
                                     f"cd {display(p.home, p.user_home)} && mv <entry> <entry>.bak && "
                                     "claudex-doctor bootstrap"))
    if not_exec:
        return failed(f"{not_exec[0]} is not executable: the wrapper's start cannot run it",
                      ["The wrapper's start/restart runs the launcher directly."], evidence,
                      reference=f"{REF}#launcher-not-executable",
                      fix=Fix.manual("Make the launcher executable", f"chmod 755 {not_exec[0]}"))
    if loose:
        what = "; ".join(f"{label} is {mode:04o} (want {want:04o})" for label, _, mode, want in loose)
        command = " && ".join(f"chmod {want:o} {shown}" for _, shown, _, want in loose)
        return warned(f"readable by other users: {what}", [
            "The env file holds the local api key the proxy accepts; auth/ holds your ChatGPT OAuth tokens."],
            evidence, reference=f"{REF}#home-permissions-too-open",
            fix=Fix.manual("Restrict the permissions", command))
    return passed("config.yaml, run.sh, env file and auth/ are present with private permissions",
                  evidence=evidence)
