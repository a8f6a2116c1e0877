"""What the web layer needs of the running appliance: the wiring's ``Runtime`` is one.

Named here as a protocol so that ``web`` never imports the composition root that imports it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from core.aftercall.worker import AnalysisWorker
from core.calls.host import CallHost
from core.knowledge import Knowledge
from core.security.secrets import SecretBox, SecretStore
from core.store.database import Store
from kb.base import KnowledgeBase
from models.config import ModelSettings
from sip.interfaces import Telephony
from sip.settings import SipSettings
from web.settings import WebSettings


class HostSettings(Protocol):
    @property
    def web(self) -> WebSettings: ...

    @property
    def sip(self) -> SipSettings: ...

    @property
    def models(self) -> ModelSettings: ...

    @property
    def recordings_path(self) -> Path: ...


# Checkable at run time: Litestar validates each injected dependency against its annotation with isinstance.
@runtime_checkable
class WebHost(CallHost, Protocol):
    @property
    def settings(self) -> HostSettings: ...

    @property
    def store(self) -> Store: ...

    @property
    def kb(self) -> KnowledgeBase: ...

    @property
    def knowledge(self) -> Knowledge | None: ...

    @property
    def secrets(self) -> SecretStore: ...

    @property
    def secret_box(self) -> SecretBox: ...

    @property
    def telephony(self) -> Telephony | None: ...

    @property
    def aftercall(self) -> AnalysisWorker: ...

    @property
    def started_at(self) -> datetime: ...
