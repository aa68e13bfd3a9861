// Package admin renders the admin's routing pages: workspace settings and
// activities, task channels, queues, workflows with their preview, and
// users with their workers.
package admin

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
)

// WorkspaceView is the workspace page: its settings, activities, and the
// workflows whose reservation timeouts it shows.
type WorkspaceView struct {
	Workspace  taskrouter.Workspace
	Activities []taskrouter.Activity
	Workflows  []taskrouter.Workflow
	Channels   []taskrouter.TaskChannel // their service-level thresholds
}

// ChannelsView is the task channels page.
type ChannelsView struct {
	Channels []taskrouter.TaskChannel
}

// QueueForm is the queue being created (Sid "") or edited.
type QueueForm struct {
	Sid                string
	FriendlyName       string
	TargetWorkers      string
	TaskOrder          string
	MaxReservedWorkers int
}

// TargetCheck is what a target workers expression selects now, or why it
// does not parse.
type TargetCheck struct {
	Error    string
	Selected []string // worker names
	Total    int
}

// QueuesView is the queues page.
type QueuesView struct {
	Queues []taskrouter.TaskQueue
	Form   QueueForm
	Check  TargetCheck
}

// WorkflowForm is the workflow being created (Sid "") or edited.
type WorkflowForm struct {
	Sid                    string
	FriendlyName           string
	Configuration          string
	TaskReservationTimeout int
}

// WorkflowsView is the workflows page: the list, the editor and the
// preview's inputs.
type WorkflowsView struct {
	Workflows []taskrouter.Workflow
	Queues    []taskrouter.TaskQueue
	Channels  []taskrouter.TaskChannel
	Form      WorkflowForm
	// ConfigError is why the configuration in the editor does not compile.
	ConfigError string
}

// PreviewView is the answer of a preview: where the task would go, with
// the names of the queues it mentions, or why there is no answer.
type PreviewView struct {
	Error   string
	Preview taskrouter.WorkflowPreview
}

// UserRow is a member of staff with their worker (nil before their first
// sign-in put them on one).
type UserRow struct {
	Member   auth.Member
	Worker   *taskrouter.Worker
	Activity string
	Profile  taskrouter.WorkerProfile
}

// UsersView is the users page; Edit is the member being edited, if any.
type UsersView struct {
	Users    []UserRow
	Channels []taskrouter.TaskChannel
	Edit     *UserRow
	Self     string // the signed-in admin's staff SID
}

func itoa(n int) string { return strconv.Itoa(n) }

func activityName(acts []taskrouter.Activity, sid string) string {
	for _, a := range acts {
		if a.Sid == sid {
			return a.FriendlyName
		}
	}
	return sid
}

func queueName(qs []taskrouter.TaskQueue, sid string) string {
	for _, q := range qs {
		if q.Sid == sid {
			return q.FriendlyName
		}
	}
	return sid
}

func taskOrders() []string { return []string{"FIFO", "LIFO"} }

// selectedText is a target check's summary: "selects 2 of 5 workers now: Ana, Ben".
func selectedText(c TargetCheck) string {
	s := fmt.Sprintf("Selects %d of %d workers now", len(c.Selected), c.Total)
	if len(c.Selected) == 0 {
		return s + ": tasks in this queue would wait"
	}
	shown := c.Selected
	more := ""
	if len(shown) > 20 {
		shown, more = shown[:20], fmt.Sprintf(" and %d more", len(c.Selected)-20)
	}
	return s + ": " + strings.Join(shown, ", ") + more
}

// SkillsText writes skills as the form takes them.
func SkillsText(p taskrouter.WorkerProfile) string { return strings.Join(p.Skills, ", ") }

// LevelsText writes levels as the form takes them: "sales=3, support=5".
func LevelsText(p taskrouter.WorkerProfile) string {
	keys := make([]string, 0, len(p.Levels))
	for k := range p.Levels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Itoa(p.Levels[k])
	}
	return strings.Join(parts, ", ")
}

func hasRole(m auth.Member, role string) bool { return slices.Contains(m.Roles, role) }

func roleNames() []string { return []string{auth.RoleAgent, auth.RoleSupervisor, auth.RoleAdmin} }

func priorityText(p *int64) string {
	if p == nil {
		return "unchanged"
	}
	return strconv.FormatInt(*p, 10)
}

func secondsText(n int) string {
	if n == 0 {
		return "none"
	}
	return strconv.Itoa(n) + " s"
}

// WorkerName is how the pages name a worker: their member of staff's full
// name where provisioning gave them one, else the worker's name.
func WorkerName(w taskrouter.Worker) string {
	if name := fullName(w.Attributes); name != "" {
		return name
	}
	return w.FriendlyName
}

func workerLabel(w taskrouter.Worker) string {
	if name := fullName(w.Attributes); name != "" && name != w.FriendlyName {
		return name + " (" + w.FriendlyName + ")"
	}
	return w.FriendlyName
}

// fullName is a worker's full_name attribute, which staff provisioning sets.
func fullName(attributes string) string {
	var a struct {
		FullName string `json:"full_name"`
	}
	_ = json.Unmarshal([]byte(attributes), &a)
	return a.FullName
}

func capacityOf(p taskrouter.WorkerProfile, channel string) string {
	if c, ok := p.Capacity[channel]; ok {
		return strconv.Itoa(c)
	}
	return ""
}
