"""The webhook URL policy: https only (loopback http only when allowed), no credentials in the
URL, a secret of at least 32 characters, and a redacted form that never shows a path, query
or credentials."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.settings import SettingsError, WebhookSettings
from inferstream.settings.webhooks import MIN_SECRET_LENGTH, redact_url

GOOD_SECRET = "k" * MIN_SECRET_LENGTH


def _load(urls: str, secret: str = GOOD_SECRET, allow_http: bool = False) -> WebhookSettings:
    return WebhookSettings.load(urls=urls, secret=secret, allow_loopback_http=allow_http)


def test_https_urls_are_accepted() -> None:
    settings = _load("https://hooks.example.com/a?token=t, https://10.0.0.7:8443/b")
    assert settings.urls == ["https://hooks.example.com/a?token=t", "https://10.0.0.7:8443/b"]


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/a",  # plain http to the internet
        "http://10.0.0.7/a",  # or to a private address
        "ftp://hooks.example.com/a",
        "file:///etc/passwd",
        "https:///no-host",
        "https://user:pw@hooks.example.com/a",  # credentials would end up in logs
    ],
)
def test_unsafe_urls_are_refused_naming_the_variable_not_the_url(url: str) -> None:
    with pytest.raises(SettingsError) as err:
        _load(url, allow_http=True)
    message = str(err.value)
    assert message.startswith("INFERSTREAM_WEBHOOK_URLS")
    assert "pw@" not in message and "/a" not in message and "passwd" not in message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"])
def test_loopback_http_needs_the_explicit_setting(host: str) -> None:
    url = f"http://{host}:8080/hook"
    with pytest.raises(SettingsError, match="ALLOW_LOOPBACK_HTTP"):
        _load(url)
    assert _load(url, allow_http=True).urls == [url]


def test_short_secrets_are_refused() -> None:
    with pytest.raises(SettingsError, match="at least 32 characters") as err:
        _load("https://hooks.example.com/a", secret="s" * (MIN_SECRET_LENGTH - 1))
    assert "s" * 8 not in str(err.value)  # the secret is never echoed
    assert _load("https://hooks.example.com/a").secret is not None


# "tok_" keeps a token from matching the host or the hex digest by chance.
_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=4, max_size=20).map(
    lambda text: f"tok_{text}"
)


@given(host=st.sampled_from(["hooks.example.com", "10.1.2.3", "[2001:db8::1]"]), token=_token)
def test_redaction_keeps_the_origin_and_drops_path_query_and_credentials(
    host: str, token: str
) -> None:
    for url in (
        f"https://{host}/hook/{token}",
        f"https://{host}:8443/hook?token={token}",
        f"https://{token}:{token}x@{host}/hook#{token}",
    ):
        shown = redact_url(url)
        assert token not in shown
        assert shown.startswith(f"https://{host}")
    # Two URLs on one host stay distinguishable.
    assert redact_url(f"https://{host}/a/{token}") != redact_url(f"https://{host}/b/{token}")
