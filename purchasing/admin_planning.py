"""Admin of reorder policies, promotions and purchase suggestions (with their derivation)."""
