"""users' request and response bodies."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ProfileOut(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    phone: str | None
    address: str | None
    daily_calorie_goal: int | None
    protein_goal: int | None
    fat_goal: int | None
    carbs_goal: int | None
    settings: dict[str, Any]
    version: int


class ProfilePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)
    daily_calorie_goal: int | None = Field(default=None, ge=500, le=10000, description="kcal per day")
    protein_goal: int | None = Field(default=None, ge=0, le=1000, description="grams per day")
    fat_goal: int | None = Field(default=None, ge=0, le=1000)
    carbs_goal: int | None = Field(default=None, ge=0, le=2000)
    settings: dict[str, Any] | None = None

    @model_validator(mode="after")
    def something_to_change(self) -> ProfilePatch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be removed")
        return self
