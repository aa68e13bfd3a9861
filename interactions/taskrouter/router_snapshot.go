package taskrouter

import (
	"encoding/json"
	"maps"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/interactions/expr"
)

// snapshot is a workspace's workers as the previous routing pass saw them.
// Every pass still reads every worker and worker channel, since any of them
// may have changed, but it rebuilds a worker's expression root only when
// what the root is made of changed, and re-parses its attributes only when
// they changed: at 500 workers these dominated a pass.
type snapshot struct {
	activities map[string]string // activity SID → name, as the roots saw them
	channels   map[string]string // task channel SID → unique name, likewise
	workers    map[string]*workerState
}

// workerState is what a worker's root was built from, with what was
// derived from it.
type workerState struct {
	key   rootKey
	attrs map[string]any // parsed key.attributes
	root  map[string]any
	// eligible caches queue target results against this root, by queue SID;
	// an entry counts only for the very expression it was computed with.
	eligible map[string]eligibility
}

// rootKey is everything a worker's root is made of (see workerRoot).
type rootKey struct {
	name, attributes, activity string
	available                  bool
	channels                   map[string]channelKey // by task channel SID
}

type channelKey struct {
	capacity, used, assigned int
	available                bool
}

func (k rootKey) equal(o rootKey) bool {
	return k.name == o.name && k.attributes == o.attributes && k.activity == o.activity && k.available == o.available &&
		maps.Equal(k.channels, o.channels)
}

type eligibility struct {
	target *expr.Expr
	ok     bool
}

// snapshotOf returns the workspace's snapshot, emptied of every root when
// an activity or task channel name (part of every root) changed.
func (r *Router) snapshotOf(workspaceSid string, activities, channels map[string]string) *snapshot {
	if r.snapshots == nil {
		r.snapshots = map[string]*snapshot{}
	}
	s := r.snapshots[workspaceSid]
	if s == nil || !maps.Equal(s.activities, activities) || !maps.Equal(s.channels, channels) {
		s = &snapshot{activities: activities, channels: channels, workers: map[string]*workerState{}}
		r.snapshots[workspaceSid] = s
	}
	return s
}

// refresh gives the pass's workers their roots, reusing those whose
// making did not change, and forgets the workers that are gone.
func (s *snapshot) refresh(p *pass) {
	seen := make(map[string]bool, len(p.workers))
	for _, c := range p.workers {
		seen[c.w.Sid] = true
		key := rootKey{name: c.w.FriendlyName, attributes: c.w.Attributes, activity: c.w.ActivitySid, available: c.w.Available,
			channels: make(map[string]channelKey, len(c.channels))}
		for tc, wc := range c.channels {
			key.channels[tc] = channelKey{capacity: wc.Capacity, used: wc.Used, assigned: wc.Assigned, available: wc.Available}
		}
		st := s.workers[c.w.Sid]
		if st == nil || !st.key.equal(key) {
			next := &workerState{key: key}
			if st != nil && st.key.attributes == key.attributes {
				next.attrs = st.attrs
			} else {
				next.attrs = parseAttributes(c.w.Attributes)
			}
			next.root = p.rootOf(c, next.attrs)
			st = next
			s.workers[c.w.Sid] = st
		}
		c.state, c.root = st, st.root
	}
	for sid := range s.workers {
		if !seen[sid] {
			delete(s.workers, sid)
		}
	}
}

// parseAttributes parses a worker's attributes, validated when written.
func parseAttributes(attributes string) map[string]any {
	attrs := map[string]any{}
	_ = json.Unmarshal([]byte(attributes), &attrs)
	if attrs == nil {
		attrs = map[string]any{}
	}
	return attrs
}

// loadWorkers reads a workspace's workers and their channels. It scans the
// rows itself: GORM's reflection over ~3,000 rows cost more than the query.
func loadWorkers(q *gorm.DB, workspaceSid string) ([]Worker, []WorkerChannel, error) {
	rows, err := q.Raw(`SELECT sid, workspace_sid, friendly_name, attributes, activity_sid, available,
		date_status_changed, last_reserved_at, date_created, date_updated FROM workers WHERE workspace_sid = ?`, workspaceSid).Rows()
	if err != nil {
		return nil, nil, err
	}
	var workers []Worker
	for rows.Next() {
		var w Worker
		if err := rows.Scan(&w.Sid, &w.WorkspaceSid, &w.FriendlyName, &w.Attributes, &w.ActivitySid, &w.Available,
			&w.DateStatusChanged, &w.LastReservedAt, &w.DateCreated, &w.DateUpdated); err != nil {
			_ = rows.Close()
			return nil, nil, err
		}
		workers = append(workers, w)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = q.Raw(`SELECT sid, workspace_sid, worker_sid, task_channel_sid, capacity, available, used, assigned,
		date_created, date_updated FROM worker_channels WHERE workspace_sid = ?`, workspaceSid).Rows()
	if err != nil {
		return nil, nil, err
	}
	var wcs []WorkerChannel
	for rows.Next() {
		var wc WorkerChannel
		if err := rows.Scan(&wc.Sid, &wc.WorkspaceSid, &wc.WorkerSid, &wc.TaskChannelSid, &wc.Capacity, &wc.Available,
			&wc.Used, &wc.Assigned, &wc.DateCreated, &wc.DateUpdated); err != nil {
			_ = rows.Close()
			return nil, nil, err
		}
		wcs = append(wcs, wc)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	return workers, wcs, rows.Err()
}
