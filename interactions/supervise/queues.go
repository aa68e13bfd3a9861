package supervise

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// The figures of the Real-Time Queues view, as the page's help text states
// them:
//
//   - Active: the queue's tasks that are assigned or wrapping; Waiting: its
//     pending and reserved tasks. Longest wait runs from the moment the
//     longest-waiting task entered the queue.
//   - Agents Available / Unavailable / Offline: the workers the queue's
//     target expression selects, by their activity: an available activity
//     counts as Available, the activity named "Offline" as Offline, any
//     other as Unavailable.
//   - A task is handled when a reservation for it is accepted; its wait is
//     the acceptance time minus the time it entered the queue, and it meets
//     the service level when that wait is at most its task channel's
//     ServiceLevelSeconds.
//   - A task is abandoned when it is canceled (for any reason, its time to
//     live included) before any reservation for it was accepted, after
//     waiting in the queue longer than its channel's ShortAbandonSeconds;
//     shorter waits are short abandons and count nowhere.
//   - SLA % is met / (handled + abandoned) over the tasks that entered the
//     queue in the window: today (since midnight in the server's time
//     zone) or the last 30 minutes. With nothing handled or abandoned there
//     is nothing to measure, and the page shows "—".
//   - Handled and Abandoned count today's tasks.
//
// Tasks deleted through the API leave the history they made but no longer
// count: their row is gone.

// RecentWindow is the short window of the queues view's second SLA figure.
const RecentWindow = 30 * time.Minute

// Columns of the queues table, the values of QueueFilter.Sort.
const (
	QueueColName        = "name"
	QueueColActive      = "active"
	QueueColWaiting     = "waiting"
	QueueColLongest     = "longest"
	QueueColAvailable   = "available"
	QueueColUnavailable = "unavailable"
	QueueColOffline     = "offline"
	QueueColSLAToday    = "sla_today"
	QueueColSLARecent   = "sla_recent"
	QueueColHandled     = "handled"
	QueueColAbandoned   = "abandoned"
)

// QueueColumns lists the sortable columns in the table's order.
var QueueColumns = []string{QueueColName, QueueColActive, QueueColWaiting, QueueColLongest, QueueColAvailable,
	QueueColUnavailable, QueueColOffline, QueueColSLAToday, QueueColSLARecent, QueueColHandled, QueueColAbandoned}

// QueueFilter narrows and orders the queues view.
type QueueFilter struct {
	Channel string // a task channel's unique name; "" for every channel
	Queue   string // a queue's friendly name; "" for every queue
	Sort    string // one of QueueColumns; "" sorts by name
	Desc    bool
}

// Ratio is a service level: Met of Of tasks. Of == 0 means nothing to measure.
type Ratio struct {
	Met, Of int
}

// Percent is the whole percentage, and false when there is nothing to measure.
func (r Ratio) Percent() (int, bool) {
	if r.Of == 0 {
		return 0, false
	}
	return (r.Met*100 + r.Of/2) / r.Of, true
}

func (r Ratio) add(o Ratio) Ratio { return Ratio{Met: r.Met + o.Met, Of: r.Of + o.Of} }

// QueueRow is one queue's line of the view.
type QueueRow struct {
	Sid, Name       string
	Active, Waiting int
	// LongestSince is when the longest-waiting task entered the queue; nil
	// when none waits.
	LongestSince                    *time.Time
	Available, Unavailable, Offline int
	SLAToday, SLARecent             Ratio
	Handled, Abandoned              int // today
}

// QueueSummary are the view's tiles, over the queues shown.
type QueueSummary struct {
	Waiting, Active int
	LongestSince    *time.Time
	// AgentsAvailable counts the workspace's workers in an available
	// activity (with capacity on the filtered channel), each once however
	// many queues select them.
	AgentsAvailable int
	SLAToday        Ratio
	AbandonedToday  int
}

// ChannelChoice is a choice of a filter: its value and label.
type ChannelChoice struct {
	Value, Label string
}

// QueuesView is the Real-Time Queues view.
type QueuesView struct {
	Now      time.Time // when it was computed: timers start from it
	Filter   QueueFilter
	Summary  QueueSummary
	Queues   []QueueRow
	Channels []ChannelChoice // the task channels to filter by
	Names    []string        // every queue's name, to filter by
}

// Queues computes the Real-Time Queues view of a workspace.
func (s *Service) Queues(ctx context.Context, workspaceSid string, f QueueFilter) (QueuesView, error) {
	v := QueuesView{Filter: f}
	if f.Sort != "" && !slices.Contains(QueueColumns, f.Sort) {
		return v, errs.Invalidf("Sort by one of %s", strings.Join(QueueColumns, ", "))
	}
	all := taskrouter.Page{Limit: 1000}
	channels, _, err := s.tr.TaskChannels(ctx, workspaceSid, all)
	if err != nil {
		return v, err
	}
	channelSid := ""
	for _, tc := range channels {
		v.Channels = append(v.Channels, ChannelChoice{Value: tc.UniqueName, Label: tc.FriendlyName})
		if tc.UniqueName == f.Channel {
			channelSid = tc.Sid
		}
	}
	if f.Channel != "" && channelSid == "" {
		return v, errs.Invalidf("There is no task channel %q in this workspace", f.Channel)
	}
	queues, _, err := s.tr.TaskQueues(ctx, workspaceSid, taskrouter.TaskQueueFilter{}, all)
	if err != nil {
		return v, err
	}
	for _, q := range queues {
		v.Names = append(v.Names, q.FriendlyName)
	}
	acts, _, err := s.tr.Activities(ctx, workspaceSid, taskrouter.ActivityFilter{}, all)
	if err != nil {
		return v, err
	}
	available := map[string]bool{}
	offline := map[string]bool{}
	for _, a := range acts {
		available[a.Sid], offline[a.Sid] = a.Available, a.FriendlyName == "Offline"
	}

	p := taskrouter.StatisticsParams{RealTime: true, TaskChannel: f.Channel}
	stats, _, err := s.tr.TaskQueuesStatistics(ctx, workspaceSid, f.Queue, p, all)
	if err != nil {
		return v, err
	}
	now := s.now()
	v.Now = now
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	levels, err := s.qServiceLevels(ctx, workspaceSid, channelSid, today, now.Add(-RecentWindow))
	if err != nil {
		return v, err
	}
	names := map[string]string{}
	for _, q := range queues {
		names[q.Sid] = q.FriendlyName
	}
	for _, st := range stats {
		rt := st.RealTime
		row := QueueRow{Sid: st.TaskQueueSid, Name: names[st.TaskQueueSid],
			Active:  rt.TasksByStatus[taskrouter.TaskAssigned] + rt.TasksByStatus[taskrouter.TaskWrapping],
			Waiting: rt.TasksByStatus[taskrouter.TaskPending] + rt.TasksByStatus[taskrouter.TaskReserved]}
		for _, a := range rt.ActivityStatistics {
			switch {
			case available[a.Sid]:
				row.Available += a.Workers
			case offline[a.Sid]:
				row.Offline += a.Workers
			default:
				row.Unavailable += a.Workers
			}
		}
		if rt.LongestInQueue != nil {
			t, err := s.tr.Task(ctx, workspaceSid, rt.LongestInQueue.Sid)
			if err != nil && errs.KindOf(err) != errs.NotFound { // gone meanwhile: nothing waits
				return v, err
			}
			row.LongestSince = t.TaskQueueEnteredDate
		}
		lv := levels[st.TaskQueueSid]
		row.SLAToday, row.SLARecent, row.Handled, row.Abandoned = lv.today, lv.recent, lv.handled, lv.abandoned
		v.Queues = append(v.Queues, row)

		v.Summary.Waiting += row.Waiting
		v.Summary.Active += row.Active
		v.Summary.SLAToday = v.Summary.SLAToday.add(row.SLAToday)
		v.Summary.AbandonedToday += row.Abandoned
		if row.LongestSince != nil && (v.Summary.LongestSince == nil || row.LongestSince.Before(*v.Summary.LongestSince)) {
			v.Summary.LongestSince = row.LongestSince
		}
	}
	ws, err := s.tr.Statistics(ctx, workspaceSid, taskrouter.StatisticsScope{Workers: &taskrouter.WorkerFilter{}}, p)
	if err != nil {
		return v, err
	}
	v.Summary.AgentsAvailable = ws.RealTime.TotalAvailableWorkers
	qSort(v.Queues, f.Sort, f.Desc)
	return v, nil
}

// qSort orders the rows by a column, ties (and every equal value) by name.
// Queues with nothing to measure sort below every measured one, and a
// queue where nothing waits has the shortest wait.
func qSort(rows []QueueRow, col string, desc bool) {
	key := func(r QueueRow) int {
		switch col {
		case QueueColActive:
			return r.Active
		case QueueColWaiting:
			return r.Waiting
		case QueueColLongest:
			if r.LongestSince == nil {
				return -1 << 62
			}
			return -int(r.LongestSince.UnixMilli()) // earlier entry: longer wait
		case QueueColAvailable:
			return r.Available
		case QueueColUnavailable:
			return r.Unavailable
		case QueueColOffline:
			return r.Offline
		case QueueColSLAToday, QueueColSLARecent:
			ratio := r.SLAToday
			if col == QueueColSLARecent {
				ratio = r.SLARecent
			}
			if pc, ok := ratio.Percent(); ok {
				return pc
			}
			return -1
		case QueueColHandled:
			return r.Handled
		case QueueColAbandoned:
			return r.Abandoned
		}
		return 0
	}
	slices.SortStableFunc(rows, func(a, b QueueRow) int {
		c := cmp.Compare(key(a), key(b))
		if c == 0 {
			c = cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.Sid, b.Sid))
		}
		if desc {
			return -c
		}
		return c
	})
}

// qLevels are one queue's service-level figures.
type qLevels struct {
	today, recent      Ratio
	handled, abandoned int
}

// qServiceLevels computes, per queue, today's and the recent window's
// service levels and today's handled and abandoned tasks (see the
// definitions above), on one channel's tasks when channelSid is given.
//
// Only acceptances and cancellations since the earlier window's start are read,
// through the history's (workspace, event type, date) index, each joined to
// its task by key and to its task's channel for the thresholds. An
// acceptance names the queue that accepted it, where the task stays from
// then on; a cancellation the queue the task was waiting in, which it
// entered at task_queue_entered_date.
func (s *Service) qServiceLevels(ctx context.Context, workspaceSid, channelSid string, today, recent time.Time) (map[string]qLevels, error) {
	wait := qSeconds(s.db.Dialect, "e.event_date", "t.task_queue_entered_date")
	const (
		accepted = "e.event_type = 'reservation.accepted'"
		canceled = "e.event_type = 'task.canceled'"
	)
	met := accepted + " AND " + wait + " <= ch.service_level_seconds"
	// A task a supervisor reassigned moved on: not abandoned.
	abandoned := canceled + " AND t.reason <> @reassigned AND " + wait + " > ch.short_abandon_seconds"
	isToday := " AND t.task_queue_entered_date >= @today"
	isRecent := " AND t.task_queue_entered_date >= @recent"
	count := func(cond string) string { return "COUNT(CASE WHEN " + cond + " THEN 1 END)" }
	query := `SELECT e.task_queue_sid AS queue_sid,
	` + count(accepted+isToday) + ` AS handled,
	` + count(met+isToday) + ` AS met,
	` + count(abandoned+isToday) + ` AS abandoned,
	` + count(accepted+isRecent) + ` AS recent_handled,
	` + count(met+isRecent) + ` AS recent_met,
	` + count(abandoned+isRecent) + ` AS recent_abandoned
FROM taskrouter_events e
JOIN tasks t ON t.sid = e.task_sid
JOIN task_channels ch ON ch.sid = t.task_channel_sid
WHERE e.workspace_sid = @ws AND e.event_type IN ('reservation.accepted', 'task.canceled') AND e.event_date >= @from
  AND e.task_queue_sid <> '' AND t.task_queue_sid = e.task_queue_sid AND t.task_queue_entered_date >= @from`
	// The recent window crosses midnight in the first half hour of a day.
	from := today
	if recent.Before(today) {
		from = recent
	}
	args := map[string]any{"ws": workspaceSid, "today": today.UTC(), "recent": recent.UTC(), "from": from.UTC(),
		"reassigned": interactions.ReassignedReason}
	if channelSid != "" {
		query += " AND t.task_channel_sid = @channel"
		args["channel"] = channelSid
	}
	query += "\nGROUP BY e.task_queue_sid"
	var rows []struct {
		QueueSid                                  string
		Handled, Met, Abandoned                   int
		RecentHandled, RecentMet, RecentAbandoned int
	}
	if err := s.db.Gorm.WithContext(ctx).Raw(query, args).Scan(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "service levels")
	}
	out := make(map[string]qLevels, len(rows))
	for _, r := range rows {
		out[r.QueueSid] = qLevels{handled: r.Handled, abandoned: r.Abandoned,
			today:  Ratio{Met: r.Met, Of: r.Handled + r.Abandoned},
			recent: Ratio{Met: r.RecentMet, Of: r.RecentHandled + r.RecentAbandoned}}
	}
	return out, nil
}

// qSeconds is the time from b to a in seconds, rounded to the millisecond
// so that comparisons with whole-second thresholds are exact.
func qSeconds(d db.Dialect, a, b string) string {
	if d == db.Postgres {
		return "(ROUND(CAST(EXTRACT(EPOCH FROM (" + a + " - " + b + ")) AS NUMERIC), 3))"
	}
	return "(ROUND((julianday(" + a + ") - julianday(" + b + ")) * 86400000.0) / 1000.0)"
}
