"""The HTTP routes, one router per area, each calling its room of the service: `events` (ingest),
`subjects` (one subject's file), `appeals`, `inputlists` (another body's lists, supplied),
`audit` (the audit log and the statistics over everyone). Who may call a route is its role
dependency (`service.auth`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..core import Service


async def service_of(request: Request) -> Service:
    """The service the app was built for (`api.create_app`)."""
    service: Service = request.app.state.service
    return service


TheService = Annotated[Service, Depends(service_of)]
