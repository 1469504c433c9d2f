"""auth's request and response bodies."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Password = Field(min_length=8, max_length=256, description="at least 8 characters")
# Deliberately loose: one @, no spaces. Deliverability is the mail server's business, and local
# domains such as calories.local must pass (a strict validator refuses reserved names).
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254, examples=["ann@example.com"])]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Strict):
    email: Email
    password: str = Password
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)


class RegisterOut(BaseModel):
    user_id: uuid.UUID


class LoginIn(Strict):
    email: Email
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=512)


class StaffIn(Strict):
    email: Email
    password: str = Password
    name: str = Field(min_length=1, max_length=200)
    role: Literal["manager", "restaurant", "courier", "admin"]
    restaurant_id: str | None = Field(default=None, description="required for the restaurant role")

    @model_validator(mode="after")
    def restaurant_staff_names_their_restaurant(self) -> StaffIn:
        if self.role == "restaurant" and not self.restaurant_id:
            raise ValueError("restaurant_id is required for the restaurant role")
        if self.role != "restaurant" and self.restaurant_id:
            raise ValueError("restaurant_id is only for the restaurant role")
        return self
