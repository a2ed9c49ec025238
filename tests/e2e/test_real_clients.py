"""The real clients: Claude Code through the real proxy, and the Codex CLI's view of a crafted login.

Both run with a throwaway HOME and a clean environment; their own outbound HTTP(S) goes to the
fake upstream's CONNECT proxy, which refuses and records it, so nothing leaves loopback.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.fakes.upstream import DEFAULT_TEXT, craft_tokens, make_codex_auth_json, write_json

from .harness import base_env

pytestmark = pytest.mark.e2e

# What a non-interactive `claude -p` needs to stay quiet and local.
QUIET = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1",
         "DISABLE_ERROR_REPORTING": "1"}


def claude_env(tmp_path, proxy, upstream, model: str, quiet: bool = True) -> dict[str, str]:
    env = base_env(tmp_path / "claude-home", upstream)
    env.update({"ANTHROPIC_BASE_URL": proxy.base_url, "ANTHROPIC_AUTH_TOKEN": proxy.api_key,
                "ANTHROPIC_MODEL": model, "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
                "ANTHROPIC_DEFAULT_SONNET_MODEL": model, "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
                "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "272000"})
    if quiet:
        env.update(QUIET)
    return env


def run(argv, env, cwd, timeout=90) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_claude_print_goes_through_the_real_proxy(claude_bin, proxy, upstream, tmp_path):
    env = claude_env(tmp_path, proxy, upstream, "gpt-5.5(high)")
    result = run([claude_bin, "-p", "say pong"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == DEFAULT_TEXT
    # An unknown model id is reported on stderr, even with the window set.
    assert '[claude-code:unrecognized_model] {"model":"gpt-5.5(high)","query_source":"sdk"}' in result.stderr
    [sent] = upstream.responses_requests()
    assert sent.body["model"] == "gpt-5.5" and sent.body["reasoning"] == {"effort": "high"}
    assert sent.body["input"][0]["role"] == "developer"  # Claude Code's system prompt
    assert any(t.get("name") == "Bash" for t in sent.body["tools"])
    assert proxy.wait_for_log(r'200 \|.*POST\s+"/v1/messages\?beta=true"')
    assert upstream.refusals == [], "with the quiet variables Claude Code calls nothing else"
    assert (tmp_path / "claude-home" / ".claude.json").exists(), "Claude Code wrote into the temporary HOME"


def test_claude_without_quiet_variables_tries_anthropic(claude_bin, proxy, upstream, tmp_path):
    env = claude_env(tmp_path, proxy, upstream, "gpt-5.5", quiet=False)
    result = run([claude_bin, "-p", "say pong"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == DEFAULT_TEXT
    assert {r.target for r in upstream.refusals} == {"api.anthropic.com:443"}


@pytest.mark.parametrize("mode, printed", [
    ("usage_limit", "API Error: Request rejected (429) · The usage limit has been reached\n"),
    ("unauthorized", "Failed to authenticate. API Error: 401 Your authentication token has been invalidated. "
                     "Please try signing in again.\n"),
])
def test_claude_prints_upstream_errors_on_stdout_and_exits_1(claude_bin, make_proxy, upstream, tmp_path, mode,
                                                             printed):
    proxy = make_proxy()
    upstream.set_mode(mode, resets_in_seconds=3600)
    env = claude_env(tmp_path, proxy, upstream, "gpt-5.5")
    env.pop("CLAUDE_CODE_AUTO_COMPACT_WINDOW")
    env["CLAUDE_CODE_MAX_RETRIES"] = "0"
    result = run([claude_bin, "-p", "say pong"], env, tmp_path)
    assert result.returncode == 1
    assert result.stdout == printed
    # Without a window setting the unknown model also gets the 1m-window warning.
    assert 'Claude Code doesn\'t recognize the model "gpt-5.5", so it assumes a context window of 1m tokens.' \
           in result.stderr


@pytest.mark.parametrize("case, code, message", [
    ("chatgpt", 0, "Logged in using ChatGPT\n"),
    ("expired", 0, "Logged in using ChatGPT\n"),  # status does not look at expiry, and does not refresh
    ("unsigned", 1, "Error checking login status: failed to deserialize CLI auth from file: invalid credential JSON"),
    ("apikey", 0, "API key configured - sk-proj-***ABCDE\nAuthentication is checked when you send a request.\n"),
    ("missing", 1, "Not logged in\n"),
])
def test_codex_login_status(codex_bin, upstream, tmp_path, case, code, message):
    home = tmp_path / "home"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True)
    if case in ("chatgpt", "expired", "unsigned"):
        tokens = craft_tokens(ttl=-3600 if case == "expired" else 864000, alg="none" if case == "unsigned" else "HS256")
        write_json(codex_home / "auth.json", make_codex_auth_json(tokens))
    elif case == "apikey":
        write_json(codex_home / "auth.json", {"OPENAI_API_KEY": "sk-proj-abcdefghijklmnopqrstuvwxyzABCDE",
                                              "tokens": None, "last_refresh": None})
    env = base_env(home, upstream)
    env["CODEX_HOME"] = str(codex_home)
    result = run([codex_bin, "login", "status"], env, tmp_path, timeout=30)
    assert result.returncode == code, result.stderr
    assert result.stdout == ""  # everything goes to stderr
    assert result.stderr.startswith(message)
    assert upstream.requests == [] and upstream.refusals == [], "login status works offline"


def test_codex_login_status_with_a_missing_codex_home(codex_bin, upstream, tmp_path):
    env = base_env(tmp_path / "home", upstream)
    env["CODEX_HOME"] = str(tmp_path / "nowhere")
    result = run([codex_bin, "login", "status"], env, tmp_path, timeout=30)
    assert result.returncode == 1
    assert f'Error loading configuration: CODEX_HOME points to "{tmp_path / "nowhere"}", but that path does not ' \
           "exist" in result.stderr


# -- what Claude Code sends when settings or the environment add their own ways ---------------------

def _recording_server():
    import http.server
    import threading

    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 -- the http.server naming
            seen.append({k.lower(): v for k, v in self.headers.items() if k.lower() in ("authorization", "x-api-key")})
            self.send_response(401)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error":"Invalid API key"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.mark.parametrize("token", ["tok-wrapper-e2e", None], ids=["beside-the-token", "alone"])
def test_api_key_helper_goes_out_as_x_api_key(claude_bin, proxy, upstream, tmp_path, token):
    """apiKeyHelper beside ANTHROPIC_AUTH_TOKEN: both keys go out; alone, the helper's key is both."""
    server, seen = _recording_server()
    try:
        env = claude_env(tmp_path, proxy, upstream, "gpt-5.5")
        env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
        env["CLAUDE_CODE_MAX_RETRIES"] = "0"
        env.pop("ANTHROPIC_AUTH_TOKEN")
        if token:
            env["ANTHROPIC_AUTH_TOKEN"] = token
        settings = tmp_path / "claude-home" / ".claude" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text('{"apiKeyHelper": "echo sk-helper-e2e"}')
        result = run([claude_bin, "-p", "say pong"], env, tmp_path)
    finally:
        server.shutdown()
    assert result.returncode == 1 and '401 {"error":"Invalid API key"}' in result.stdout
    assert seen, "Claude Code sent nothing"
    expected = {"authorization": f"Bearer {token or 'sk-helper-e2e'}", "x-api-key": "sk-helper-e2e"}
    assert seen[0] == expected


def test_api_key_helper_beside_the_token_still_works_through_cliproxyapi(claude_bin, proxy, upstream, tmp_path):
    env = claude_env(tmp_path, proxy, upstream, "gpt-5.5")
    settings = tmp_path / "claude-home" / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('{"apiKeyHelper": "echo sk-helper-wrong-e2e"}')
    result = run([claude_bin, "-p", "say pong"], env, tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == DEFAULT_TEXT  # either valid key lets it through


@pytest.mark.parametrize("variables, works", [
    ({"HTTP_PROXY": "DEAD"}, False),
    ({"HTTPS_PROXY": "DEAD"}, False),  # even for an http:// base URL
    ({"ALL_PROXY": "DEAD"}, False),
    ({"HTTP_PROXY": "DEAD", "NO_PROXY": "localhost"}, False),  # localhost does not exempt 127.0.0.1
    ({"HTTP_PROXY": "DEAD", "NO_PROXY": "127.0.0.1"}, True),
    ({"HTTP_PROXY": "DEAD", "NO_PROXY": "127.0.0.0/8"}, True),
    ({"HTTP_PROXY": "DEAD", "no_proxy": "corp.example", "NO_PROXY": "127.0.0.1"}, False),  # lower case wins
])
def test_proxy_variables_and_loopback(claude_bin, proxy, upstream, tmp_path, variables, works):
    from tests.conftest import free_port

    env = claude_env(tmp_path, proxy, upstream, "gpt-5.5")
    for key in [k for k in env if k.lower().endswith("_proxy")]:
        env.pop(key)
    dead = f"http://127.0.0.1:{free_port()}"
    env.update({k: dead if v == "DEAD" else v for k, v in variables.items()})
    env["CLAUDE_CODE_MAX_RETRIES"] = "0"
    result = run([claude_bin, "-p", "say pong"], env, tmp_path)
    if works:
        assert result.returncode == 0 and result.stdout.strip() == DEFAULT_TEXT, result.stdout
    else:
        assert result.returncode == 1
        assert result.stdout.startswith("API Error: Connection refused — a firewall or proxy may be blocking it"), \
            result.stdout
