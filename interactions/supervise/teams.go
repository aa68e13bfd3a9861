package supervise

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Live task states on the teams view.
const (
	LiveOffered  = "offered"  // a pending reservation
	LiveAssigned = "assigned" // accepted, the agent works it
	LiveWrapping = "wrapping" // the agent left and wraps up
)

// TeamFilter narrows the teams view; empty fields match everyone.
type TeamFilter struct {
	Activity string // an activity SID
	Team     string // the worker attribute team_name
	Skill    string // one of the worker's routing.skills
}

// TeamView is the Teams view: the workspace's agents and what the filters offer.
type TeamView struct {
	Now        time.Time // when it was computed: timers start from it
	Filter     TeamFilter
	Members    []Member
	Activities []ActivityChoice
	Teams      []string // every team_name in the workspace
	Skills     []string // every routing skill in the workspace
}

// ActivityChoice is a worker state a supervisor can put an agent in.
type ActivityChoice struct {
	Sid       string
	Name      string
	Available bool
}

// Member is one agent's line on the teams view.
type Member struct {
	WorkerSid string
	Name      string
	Team      string
	Skills    []string
	Activity  ActivityChoice
	// Since is when the agent entered their activity.
	Since    time.Time
	Tasks    []LiveTask
	Capacity []ChannelLoad
}

// LiveTask is an agent's offer or task.
type LiveTask struct {
	TaskSid string
	// ConversationSid is the conversation the task was made for; "" for a
	// task of its own.
	ConversationSid string
	Channel         string // chat, sms or whatsapp
	Customer        string
	Status          string // LiveOffered, LiveAssigned or LiveWrapping
	Since           time.Time
}

// ChannelLoad is an agent's capacity on one task channel.
type ChannelLoad struct {
	Channel string // the task channel's unique name
	Label   string
	Used    int // offers, assigned and wrapping tasks
	Of      int // the configured capacity
}

// tmLiveReservations make an agent's live tasks.
var tmLiveReservations = []string{taskrouter.ReservationPending, taskrouter.ReservationAccepted, taskrouter.ReservationWrapping}

// tmAttributes are the worker attributes the teams view reads.
type tmAttributes struct {
	FullName string `json:"full_name"`
	TeamName string `json:"team_name"`
	Routing  struct {
		Skills []any `json:"skills"` // strings; anything else is not a skill
	} `json:"routing"`
}

// tmTaskAttributes are what the interactions layer puts on a conversation's task.
type tmTaskAttributes struct {
	ConversationSid string `json:"conversationSid"`
	ChannelType     string `json:"channelType"`
	CustomerName    string `json:"customerName"`
	CustomerAddress string `json:"customerAddress"`
}

// tmHiddenChannels say nothing about a messaging agent's load: the
// catch-all and voice channels (as on the desk's header).
var tmHiddenChannels = []string{"default", "voice"}

// Team lists the workspace's agents the filter selects, by name.
func (s *Service) Team(ctx context.Context, workspaceSid string, f TeamFilter) (TeamView, error) {
	v := TeamView{Filter: f, Now: s.now()}
	acts, err := s.tmActivities(ctx, workspaceSid)
	if err != nil {
		return v, err
	}
	v.Activities = acts
	if f.Activity != "" && !slices.ContainsFunc(acts, func(a ActivityChoice) bool { return a.Sid == f.Activity }) {
		return v, errs.Invalidf("There is no such activity in this workspace")
	}
	workers, _, err := s.tr.Workers(ctx, workspaceSid, taskrouter.WorkerFilter{}, taskrouter.Page{Limit: 10000})
	if err != nil {
		return v, err
	}
	var shown []taskrouter.Worker
	teams, skills := map[string]bool{}, map[string]bool{}
	for _, w := range workers {
		a := tmAttributesOf(w)
		if a.TeamName != "" {
			teams[a.TeamName] = true
		}
		for _, sk := range a.Skills {
			skills[sk] = true
		}
		if (f.Activity == "" || w.ActivitySid == f.Activity) && (f.Team == "" || a.TeamName == f.Team) &&
			(f.Skill == "" || slices.Contains(a.Skills, f.Skill)) {
			shown = append(shown, w)
		}
	}
	v.Teams, v.Skills = tmSorted(teams), tmSorted(skills)
	v.Members, err = s.tmMembers(ctx, workspaceSid, shown, acts)
	return v, err
}

// MemberView is one agent's line as after a change to it, with the
// activities to pick from.
type MemberView struct {
	Now        time.Time
	Member     Member
	Activities []ActivityChoice
}

// Member is one agent's line, as after a change to it.
func (s *Service) Member(ctx context.Context, workspaceSid, workerSid string) (MemberView, error) {
	v := MemberView{Now: s.now()}
	w, err := s.tr.Worker(ctx, workspaceSid, workerSid)
	if err != nil {
		return v, err
	}
	if v.Activities, err = s.tmActivities(ctx, workspaceSid); err != nil {
		return v, err
	}
	ms, err := s.tmMembers(ctx, workspaceSid, []taskrouter.Worker{w}, v.Activities)
	if err != nil {
		return v, err
	}
	v.Member = ms[0]
	return v, nil
}

// tmActivities are the workspace's activities, oldest first.
func (s *Service) tmActivities(ctx context.Context, workspaceSid string) ([]ActivityChoice, error) {
	acts, _, err := s.tr.Activities(ctx, workspaceSid, taskrouter.ActivityFilter{}, taskrouter.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := make([]ActivityChoice, len(acts))
	for i, a := range acts {
		out[i] = ActivityChoice{Sid: a.Sid, Name: a.FriendlyName, Available: a.Available}
	}
	return out, nil
}

// SetAgentActivity moves an agent of the workspace to another of its
// activities, as the agent's own selector would: going to an unavailable
// one rejects the offers still ringing, so they reach someone else at once.
func (s *Service) SetAgentActivity(ctx context.Context, workspaceSid, workerSid, activitySid string) error {
	if _, err := s.tr.Worker(ctx, workspaceSid, workerSid); err != nil {
		return err
	}
	if activitySid == "" {
		return errs.Invalidf("Pick an activity")
	}
	if _, err := s.tr.Activity(ctx, workspaceSid, activitySid); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return errs.Invalidf("There is no such activity in this workspace")
		}
		return err
	}
	reject := true
	_, err := s.tr.UpdateWorker(ctx, workspaceSid, workerSid, taskrouter.WorkerParams{ActivitySid: &activitySid,
		RejectPendingReservations: &reject})
	return err
}

// SetAgentCapacity sets an agent's capacity on a task channel (its unique
// name); capacity is the form's text, a whole number of at least 0. Work
// the agent holds already stays; 0 stops new offers.
func (s *Service) SetAgentCapacity(ctx context.Context, workspaceSid, workerSid, channel, capacity string) error {
	if _, err := s.tr.Worker(ctx, workspaceSid, workerSid); err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(capacity))
	if err != nil {
		return errs.Invalidf("Capacity must be a whole number")
	}
	if n < 0 || n > taskrouter.MaxChannelCapacity {
		return errs.Invalidf("Capacity must be between 0 and %d", taskrouter.MaxChannelCapacity)
	}
	_, err = s.tr.UpdateWorkerChannel(ctx, workspaceSid, workerSid, channel, taskrouter.WorkerChannelParams{Capacity: &n})
	if errs.KindOf(err) == errs.NotFound {
		return errs.NotFoundf("The agent has no task channel %q", channel)
	}
	return err
}

// tmMembers describes the workers, ordered by name: their activity, live
// tasks and capacity, in three queries over the workers' keys.
func (s *Service) tmMembers(ctx context.Context, workspaceSid string, workers []taskrouter.Worker, acts []ActivityChoice) ([]Member, error) {
	if len(workers) == 0 {
		return nil, nil
	}
	q := s.db.Gorm.WithContext(ctx)
	sids := make([]string, len(workers))
	for i, w := range workers {
		sids[i] = w.Sid
	}
	var rs []taskrouter.Reservation
	if err := q.Where("worker_sid IN ? AND reservation_status IN ?", sids, tmLiveReservations).
		Order("date_created, sid").Find(&rs).Error; err != nil {
		return nil, errs.Wrap(err, "team reservations")
	}
	taskSids := make([]string, len(rs))
	for i, r := range rs {
		taskSids[i] = r.TaskSid
	}
	tasks := map[string]taskrouter.Task{}
	if len(taskSids) > 0 {
		var ts []taskrouter.Task
		if err := q.Where("sid IN ?", taskSids).Find(&ts).Error; err != nil {
			return nil, errs.Wrap(err, "team tasks")
		}
		for _, t := range ts {
			tasks[t.Sid] = t
		}
	}
	var wcs []taskrouter.WorkerChannel
	if err := q.Where("worker_sid IN ?", sids).Find(&wcs).Error; err != nil {
		return nil, errs.Wrap(err, "team capacity")
	}
	tcs, _, err := s.tr.TaskChannels(ctx, workspaceSid, taskrouter.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	channels := map[string]taskrouter.TaskChannel{}
	for _, tc := range tcs {
		channels[tc.Sid] = tc
	}

	byWorker := map[string]*Member{}
	out := make([]Member, len(workers))
	for i, w := range workers {
		a := tmAttributesOf(w)
		m := Member{WorkerSid: w.Sid, Name: cmp.Or(a.FullName, w.FriendlyName), Team: a.TeamName, Skills: a.Skills,
			Since: w.DateStatusChanged}
		for _, act := range acts {
			if act.Sid == w.ActivitySid {
				m.Activity = act
			}
		}
		out[i] = m
		byWorker[w.Sid] = &out[i]
	}
	for _, r := range rs {
		t, ok := tasks[r.TaskSid]
		if !ok {
			continue
		}
		byWorker[r.WorkerSid].Tasks = append(byWorker[r.WorkerSid].Tasks, tmLiveTask(r, t))
	}
	for _, wc := range wcs {
		tc := channels[wc.TaskChannelSid]
		if slices.Contains(tmHiddenChannels, tc.UniqueName) {
			continue
		}
		m := byWorker[wc.WorkerSid]
		m.Capacity = append(m.Capacity, ChannelLoad{Channel: tc.UniqueName, Label: tc.FriendlyName, Used: wc.Used, Of: wc.Capacity})
	}
	for i := range out {
		slices.SortFunc(out[i].Capacity, func(x, y ChannelLoad) int { return strings.Compare(x.Channel, y.Channel) })
	}
	slices.SortStableFunc(out, func(x, y Member) int {
		return cmp.Or(strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), strings.Compare(x.WorkerSid, y.WorkerSid))
	})
	return out, nil
}

// tmLiveTask describes a reservation's task: the conversation, channel and
// customer from the task's attributes, as the desk reads them.
func tmLiveTask(r taskrouter.Reservation, t taskrouter.Task) LiveTask {
	var a tmTaskAttributes
	_ = json.Unmarshal([]byte(t.Attributes), &a)
	lt := LiveTask{TaskSid: t.Sid, ConversationSid: a.ConversationSid, Channel: "chat",
		Customer: cmp.Or(a.CustomerName, a.CustomerAddress, "Task "+t.Sid), Since: t.DateCreated}
	if a.ChannelType == "sms" || a.ChannelType == "whatsapp" {
		lt.Channel = a.ChannelType
	}
	switch r.ReservationStatus {
	case taskrouter.ReservationPending:
		lt.Status = LiveOffered
	case taskrouter.ReservationWrapping:
		lt.Status = LiveWrapping
	default:
		lt.Status = LiveAssigned
	}
	return lt
}

// tmWorker is what the teams view reads of a worker's attributes.
type tmWorker struct {
	FullName, TeamName string
	Skills             []string
}

func tmAttributesOf(w taskrouter.Worker) tmWorker {
	var a tmAttributes
	_ = json.Unmarshal([]byte(w.Attributes), &a)
	out := tmWorker{FullName: a.FullName, TeamName: a.TeamName}
	for _, sk := range a.Routing.Skills {
		if s, ok := sk.(string); ok {
			out.Skills = append(out.Skills, s)
		}
	}
	return out
}

func tmSorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
