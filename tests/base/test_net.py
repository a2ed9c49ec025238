"""base.net: the URL shown for a URL that may carry a credential."""

from __future__ import annotations

import pytest

from claudex_doctor.base.net import without_userinfo


@pytest.mark.parametrize("url, shown", [
    ("https://user:s3cr3t@goproxy.corp/", "https://goproxy.corp/"),
    ("https://user:s3cr3t@goproxy.corp:8443/go/mod?token=s3cr3t#s3cr3t", "https://goproxy.corp:8443/go/mod"),
    ("https://a:s3cr3t@b@goproxy.corp/p", "https://goproxy.corp/p"),  # the authority ends at its last @
    ("http://user:s3cr3t@[::1]:3000/x", "http://[::1]:3000/x"),
    ("https://user:s3cr3t@[::1/x", "https://[::1/x"),  # unreadable (an open bracket): cut by hand
    ("user:s3cr3t@goproxy.corp/x", "user:goproxy.corp/x"),  # no `//`
    ("https://proxy.golang.org", "https://proxy.golang.org"),
])
def test_userinfo_query_and_fragment_are_never_shown(url, shown):
    assert without_userinfo(url) == shown and "s3cr3t" not in without_userinfo(url)
