"""Output only: every renderer takes results and returns text; none of them decides anything."""
