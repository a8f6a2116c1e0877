"""What the web layer shares across requests: the runtime, accounts, invitations, password resets, sessions,
tokens, the login throttle, the trusted proxies, the box's host names and the test calls in progress.
Created once with the app and reached through its state, never as a global."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sip.webrtc import BrowserCalls
from web.auth.client import TrustedProxies
from web.auth.hosts import AllowedHosts
from web.auth.throttle import LoginThrottle
from web.host import WebHost
from web.store.accounts import Accounts
from web.store.business import BusinessSettings
from web.store.invitations import Invitations
from web.store.resets import PasswordResets
from web.store.sessions import Sessions
from web.store.tokens import ApiTokens
from web.trial_calls import TrialCalls
from web.webhooks import WebhookSender


@dataclass
class WebContext:
    runtime: WebHost
    cli_token: str
    accounts: Accounts
    invitations: Invitations
    resets: PasswordResets
    sessions: Sessions
    tokens: ApiTokens
    throttle: LoginThrottle
    proxies: TrustedProxies
    hosts: AllowedHosts
    business: BusinessSettings
    browser_calls: BrowserCalls
    trial_calls: TrialCalls
    webhooks: WebhookSender

    @classmethod
    def create(cls, runtime: WebHost, cli_token: str) -> WebContext:
        web = runtime.settings.web
        store = runtime.store
        business = BusinessSettings(store, runtime.secrets)
        webhooks = WebhookSender(business, lambda tenant_id: runtime.tenants.get(tenant_id).allow_hosts)
        runtime.live.on_ended.append(webhooks.call_ended)
        runtime.live.on_tool.append(webhooks.tool_called)
        runtime.aftercall.on_analysed.append(webhooks.call_ended)
        return cls(
            runtime=runtime,
            cli_token=cli_token,
            accounts=Accounts(store),
            invitations=Invitations(store, runtime.secret_box),
            resets=PasswordResets(store, runtime.secret_box),
            sessions=Sessions(store, runtime.secret_box, timedelta(hours=web.session_hours)),
            tokens=ApiTokens(store, runtime.secret_box),
            throttle=LoginThrottle(web.login_attempts, web.login_window_s),
            proxies=TrustedProxies(web.trusted_proxies),
            hosts=AllowedHosts(web.host_names),
            business=business,
            webhooks=webhooks,
            browser_calls=BrowserCalls(runtime.settings.recordings_path, web.ice_addresses),
            trial_calls=TrialCalls(web.max_test_calls),
        )
