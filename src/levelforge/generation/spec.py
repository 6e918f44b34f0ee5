"""The level spec (CONTRACT §4): strict JSON types, ranges, and the fit rule.

``LevelSpecIn`` is what ``POST /jobs`` accepts; ``normalise`` fills every default and
the seed, giving the dict recorded in the job and fed to the generator.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from levelforge.errors import SpecError

SEED_MAX = 2**53 - 1
TILES_PER_ROOM = 64
Theme = Literal["dungeon", "crypt", "cave"]


class LevelSpecIn(BaseModel):
    """A level request. Types are strict JSON types: ``"64"``, ``true`` and ``64.0`` are
    not integers; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    seed: Annotated[
        int | None,
        Field(ge=0, le=SEED_MAX),
        # documented as what a client may send: an integer, or nothing (never null)
        WithJsonSchema({"type": "integer", "minimum": 0, "maximum": SEED_MAX}),
    ] = Field(default=None, description="0 to 2^53-1; drawn at random and recorded when absent")
    width: int = Field(default=64, ge=16, le=512, description="tiles")
    height: int = Field(default=40, ge=16, le=512, description="tiles")
    rooms: int = Field(
        default=12,
        ge=1,
        le=2000,
        description="exactly this many rooms; rooms * 64 <= width * height",
    )
    difficulty: int = Field(default=3, ge=1, le=10)
    theme: Theme = "dungeon"
    loops: float = Field(default=0.15, ge=0, le=1, description="extra connections, as a share of rooms")

    @field_validator("seed", mode="before")
    @classmethod
    def _seed_is_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("Input should be a valid integer (leave seed out to draw one)")
        return value

    @field_validator("loops", mode="before")
    @classmethod
    def _loops_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("Input should be a number")
        return value

    @field_validator("rooms")
    @classmethod
    def _rooms_fit(cls, rooms: int, info: ValidationInfo) -> int:
        width, height = info.data.get("width"), info.data.get("height")
        if width is not None and height is not None and rooms * TILES_PER_ROOM > width * height:
            raise ValueError(
                f"{rooms} rooms do not fit in {width}x{height}: at most "
                f"{width * height // TILES_PER_ROOM} (rooms * 64 <= width * height)"
            )
        return rooms


def normalise(spec: LevelSpecIn) -> dict[str, Any]:
    """Every default filled in, a random seed drawn and recorded when there is none."""
    seed = spec.seed if spec.seed is not None else secrets.randbelow(SEED_MAX + 1)
    return {
        "seed": seed,
        "width": spec.width,
        "height": spec.height,
        "rooms": spec.rooms,
        "difficulty": spec.difficulty,
        "theme": spec.theme,
        "loops": float(spec.loops),
    }


def parse_spec(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a spec as ``POST /jobs`` does and normalise it; ``SpecError`` names the
    first offending field."""
    try:
        return normalise(LevelSpecIn.model_validate(dict(raw)))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "spec"
        raise SpecError(field, first["msg"]) from exc
