"""Dependencies of the routes, as ``Annotated`` aliases over ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from levelforge.api.metrics import Metrics
from levelforge.api.port_calls import PortCalls
from levelforge.config import Settings
from levelforge.ports import ArtifactStore, JobStore


async def get_store(request: Request) -> JobStore:
    store: JobStore = request.app.state.store
    return store


async def get_artifacts(request: Request) -> ArtifactStore | None:
    artifacts: ArtifactStore | None = request.app.state.artifacts
    return artifacts


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store_calls(request: Request) -> PortCalls:
    calls: PortCalls = request.app.state.store_calls
    return calls


StoreCallsDep = Annotated[PortCalls, Depends(get_store_calls)]
StoreDep = Annotated[JobStore, Depends(get_store)]
ArtifactsDep = Annotated[ArtifactStore | None, Depends(get_artifacts)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
