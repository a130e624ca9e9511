"""The damage-claim walkthrough completed with keys on the practice co-op: the claims list from the back-office
menu, a claim opened with the wrong thing damaged (named), then the right claim, its cost lines and the
invoice."""
from __future__ import annotations

from kec_tui.screens.damage_claims import ClaimScreen, DamageClaimsScreen
from kec_tui.training import walkthroughs
from tests.screens.test_training import burst, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.batch import expand
from tests.support.keys import settle


def new_claim(incident: str, damaged: str) -> list[str]:
    return expand("f6", incident, "enter", "Hwy 95 at Lancaster Rd", "enter", damaged, "enter",
                  "Pickup slid off the road", "enter", "Dale Driver", "enter", "enter", "enter", "Gem State Mutual",
                  "enter", "GS-26-0042", "enter", "enter", "enter")


async def test_damage_claim_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("damage_claim").coming() is None
    app = make_app(practice, tmp_path, training="damage_claim")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        assert step(app) == 0
        await burst(pilot, ["shift+f6", "7"])
        await until(pilot, lambda: step(app) == 1)
        claims = app.screen
        assert isinstance(claims, DamageClaimsScreen)
        await burst(pilot, new_claim(data["incident"], "t"))          # a transformer: the crew said a pole
        await until(pilot, lambda: "the crew said a pole" in app.trainer.feedback)
        assert step(app) == 1
        await burst(pilot, ["escape"])
        await until(pilot, lambda: app.screen is claims)
        await burst(pilot, new_claim(data["incident"], "p"))
        await until(pilot, lambda: step(app) == 2)
        assert isinstance(app.screen, ClaimScreen)
        await burst(pilot, expand("f6", "l", "enter", "Line crew", "enter", "6.5", "enter", "85.00", "enter",
                                  "f6", "m", "enter", "Class 4 pole, 40 ft", "enter", "1", "enter", "1234.56", "enter",
                                  "f7"))
        await until(pilot, lambda: app.trainer.run.complete)
        assert app.screen.claim.total_cents == data["total_cents"] == 2_055_12
