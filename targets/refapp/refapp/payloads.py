"""Request bodies of the HTTP API (validated by FastAPI/pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class LoginBody(BaseModel):
    user: str = Field(min_length=1)
    ttl: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class QuoteBody(BaseModel):
    amount: float = Field(allow_inf_nan=False)
    ttl: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class RecordBody(BaseModel):
    data: dict[str, Any]


class IncrementBody(BaseModel):
    by: int = 1
