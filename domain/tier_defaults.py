"""The default tier policy and segment scheme, from the seed "Tier 2 dynamic segmentation"
guide: engagement weighs 35 %; event leads are worth > 80 and referrals > 70; awareness
0-30, consideration 30-60, decision > 60; a white paper download +15, a demo request +40;
engagement under 30 % stays Tier 1, a 70 % peak goes straight to Tier 2+, and an event lead
at 65 % engagement goes to Tier 2+ without waiting for 70 %."""

from __future__ import annotations

from domain.filters import ContactFilter
from domain.segments import Segment, SegmentScheme
from domain.tiers import Override, TierBand, TierPolicy

TIER_1, TIER_2, TIER_2_PLUS = "Tier 1", "Tier 2", "Tier 2+"

DEFAULT_POLICY = TierPolicy(
    version=1,
    weights={"engagement": 35, "source": 20, "funnel": 20, "intent": 15, "fit": 10},
    engagement_cap=100,
    fit_cap=50,
    source_values={
        "EVENT": 85,
        "REFERRAL": 75,
        "PARTNER": 60,
        "WEB": 50,
        "EMAIL": 45,
        "SOCIAL": 40,
        "PAID_ADS": 35,
        "IMPORT": 20,
        "OTHER": 20,
    },
    funnel_values={"AWARENESS": 15, "CONSIDERATION": 45, "DECISION": 80},
    intent_points={"WHITE_PAPER_DOWNLOAD": 15, "DEMO_REQUEST": 40},
    intent_window_days=30,
    bands=(TierBand(TIER_1, 0), TierBand(TIER_2, 30), TierBand(TIER_2_PLUS, 70)),
    overrides=(
        Override(
            "event lead with engagement >= 65",
            TIER_2_PLUS,
            ContactFilter(source_in=("EVENT",)),
            min_engagement=65,
        ),
        Override("engagement peak >= 70", TIER_2_PLUS, min_engagement=70),
        Override("engagement under 30 stays Tier 1", TIER_1, below_engagement=30),
    ),
)

DEFAULT_SCHEME = SegmentScheme(
    version=1,
    segments=(
        Segment(
            "A", "Event leads researching",
            ContactFilter(source_in=("EVENT",), funnel_stage_in=("CONSIDERATION",)),
            {"WHITE_PAPER_DOWNLOAD": 3}, TIER_2_PLUS,
            "Event lead, 3+ white papers, consideration: technical PDF and a personal demo.",
        ),
        Segment(
            "B", "Referrals ready to buy",
            ContactFilter(source_in=("REFERRAL",), funnel_stage_in=("DECISION",)),
            {"DEMO_REQUEST": 1}, TIER_2_PLUS,
            "Referral lead who asked for a demo, in decision: sales call now.",
        ),
        Segment(
            "C", "Product researchers",
            ContactFilter(), {"PRODUCT_PAGE_LONG_VISIT": 1, "WHITE_PAPER_DOWNLOAD": 1},
            TIER_1, "Long product-page visits and a white paper: related case studies.",
        ),
        Segment(
            "D", "Deciding without a demo", ContactFilter(funnel_stage_in=("DECISION",)),
            {}, TIER_2, "In decision but no demo yet: offer one.",
        ),
        Segment(
            "E", "Considering", ContactFilter(funnel_stage_in=("CONSIDERATION",)),
            {}, TIER_2, "Consideration: case studies and related white papers.",
        ),
        Segment(
            "F", "Getting to know us", ContactFilter(), {}, TIER_1,
            "Everyone else: educational content, simple calls to action.",
        ),
    ),
)  # fmt: skip
