package client

import (
	"fmt"
	"time"

	"treelog/lag"
)

// oldSnapshot says, as Debian's requirements for old release media put
// it, when an old snapshot was published: "this snapshot was published at
// 18:00 UTC on 2 March 2024, approximately 2 years ago".
func oldSnapshot(ts time.Time, age time.Duration) string {
	return fmt.Sprintf("this snapshot was published at %s UTC on %s, approximately %s ago",
		ts.UTC().Format("15:04"), ts.UTC().Format("2 January 2006"), approximately(age))
}

// approximately says a long duration in the largest whole unit.
func approximately(d time.Duration) string {
	const day = 24 * time.Hour
	const year = 36525 * day / 100
	const month = year / 12
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= year:
		return plural(int(d/year), "year")
	case d >= month:
		return plural(int(d/month), "month")
	case d >= day:
		return plural(int(d/day), "day")
	}
	return lag.Words(d)
}
