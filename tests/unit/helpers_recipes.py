"""Facts the recipe tests share."""

ALL_RELEASES = [f"2.{m}" for m in range(10, 23)]
