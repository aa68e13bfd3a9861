// Package supervisor renders the supervisor's live views: Real-Time Queues
// and Teams. Each page renders its board whole; the page's socket pushes
// the same board out of band whenever something changed.
package supervisor

import (
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/switchboardhq/switchboard/interactions/supervise"
)

// SocketPath is the live views' WebSocket.
const SocketPath = "/supervisor/ws"

// QueuesQuery is the queues view's filter and sort as a query string.
func QueuesQuery(f supervise.QueueFilter) url.Values {
	q := url.Values{}
	if f.Channel != "" {
		q.Set("channel", f.Channel)
	}
	if f.Queue != "" {
		q.Set("queue", f.Queue)
	}
	if f.Sort != "" {
		q.Set("sort", f.Sort)
		q.Set("dir", dir(f.Desc))
	}
	return q
}

// TeamsQuery is the teams view's filter as a query string.
func TeamsQuery(f supervise.TeamFilter) url.Values {
	q := url.Values{}
	if f.Activity != "" {
		q.Set("activity", f.Activity)
	}
	if f.Team != "" {
		q.Set("team", f.Team)
	}
	if f.Skill != "" {
		q.Set("skill", f.Skill)
	}
	return q
}

// socketURL is the live view's socket with the page's filter and sort.
func socketURL(view string, q url.Values) string {
	q.Set("view", view)
	return SocketPath + "?" + q.Encode()
}

func dir(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

// sortHref is the link of a column header: sorted by it, ascending, or
// the other way round when it is the current order.
func sortHref(f supervise.QueueFilter, col string) templ.SafeURL {
	g := f
	g.Desc = f.Sort == col && !f.Desc
	if f.Sort == "" && col == supervise.QueueColName {
		g.Desc = true // the default order is by name, ascending
	}
	g.Sort = col
	return templ.SafeURL("/supervisor/queues?" + QueuesQuery(g).Encode())
}

// ariaSort is the header's aria-sort: the current order's direction on its
// column, nothing on the others.
func ariaSort(f supervise.QueueFilter, col string) string {
	sort := f.Sort
	if sort == "" {
		sort = supervise.QueueColName
	}
	if sort != col {
		return ""
	}
	if f.Desc {
		return "descending"
	}
	return "ascending"
}

// percent shows a service level, "—" when there is nothing to measure.
func percent(r supervise.Ratio) string {
	if p, ok := r.Percent(); ok {
		return strconv.Itoa(p) + "%"
	}
	return "—"
}

// ratioTitle explains a service level's figure.
func ratioTitle(r supervise.Ratio) string {
	if r.Of == 0 {
		return "Nothing handled or abandoned yet"
	}
	return strconv.Itoa(r.Met) + " of " + strconv.Itoa(r.Of) + " within the service level"
}

// slaClass colours a service level: below 80% is a warning, below 60% bad.
func slaClass(r supervise.Ratio) string {
	p, ok := r.Percent()
	switch {
	case !ok:
		return ""
	case p < 60:
		return "bad"
	case p < 80:
		return "warn"
	}
	return ""
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// waitFor is a timer's starting text, before the page's script ticks it.
func waitFor(since time.Time, now time.Time) string {
	s := int(now.Sub(since).Seconds())
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return strconv.Itoa(s/3600) + ":" + two((s%3600)/60) + ":" + two(s%60)
	}
	return strconv.Itoa(s/60) + ":" + two(s%60)
}

func two(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func itoa(n int) string { return strconv.Itoa(n) }

// channelLabel names a conversation channel on a badge.
func channelLabel(ch string) string {
	switch ch {
	case "sms":
		return "SMS"
	case "whatsapp":
		return "WhatsApp"
	}
	return "Chat"
}

// capLabel names a capacity's channel: short for the messaging channels,
// the task channel's own name for any other.
func capLabel(c supervise.ChannelLoad) string {
	switch c.Channel {
	case "chat", "sms", "whatsapp":
		return channelLabel(c.Channel)
	}
	return c.Label
}

func swapOOB(oob bool) templ.Attributes {
	if oob {
		return templ.Attributes{"hx-swap-oob": "true"}
	}
	return nil
}
