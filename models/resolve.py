"""Turn a model choice from the settings (a catalog name or a path) into a path on disk.

A catalog model is verified against its SHA-256 on the way (models/verify.py, models/assemble.py); a path the
settings give instead of a catalog name is used as it is, unverified: there is no digest to compare it to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from models.assemble import assemble
from models.catalog import CATALOG, Role, SplitFile
from models.errors import ModelError
from models.verify import verify_package

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    role: Role
    name: str
    path: Path
    from_catalog: bool


def resolve(role: Role, choice: str, models_dir: Path) -> ResolvedModel:
    spec = CATALOG.get(choice)
    if spec is not None:
        if spec.role != role:
            raise ModelError(f"models.{role}: {choice} is a {spec.role} model, not a {role} model")
        if isinstance(spec.source, SplitFile):
            try:
                path = assemble(spec.source, models_dir / spec.name)
            except ModelError as exc:
                raise ModelError(f"models.{role}: {choice}: {exc}; {spec.source.install_hint}") from None
        else:
            try:
                path = verify_package(spec.source, models_dir / f"{spec.name}.verified")
            except ModelError as exc:
                raise ModelError(f"models.{role}: {choice}: {exc}") from None
        return ResolvedModel(role, choice, path, True)

    path = Path(choice).expanduser()
    if not path.exists():
        known = ", ".join(name for name, spec in CATALOG.items() if spec.role == role)
        raise ModelError(f"models.{role}: '{choice}' is neither a known {role} model ({known}) nor an existing path")
    log.info("models.%s: %s is not from the catalog, so it is loaded unverified", role, path)
    return ResolvedModel(role, str(path), path.resolve(), False)
