package taskrouter

import "time"

// Workspace (WS…) is a self-contained routing domain: its own activities,
// channels, workers, queues, workflows and tasks.
type Workspace struct {
	Sid                  string `gorm:"primaryKey"`
	FriendlyName         string
	EventCallbackURL     string `gorm:"column:event_callback_url"`
	EventsFilter         string
	MultiTaskEnabled     bool
	PrioritizeQueueOrder string // FIFO or LIFO
	DefaultActivitySid   string
	TimeoutActivitySid   string
	DateCreated          time.Time
	DateUpdated          time.Time
}

// Activity (WA…) is a worker state; Available says whether workers in it
// can receive reservations.
type Activity struct {
	Sid          string `gorm:"primaryKey"`
	WorkspaceSid string
	FriendlyName string
	Available    bool
	DateCreated  time.Time
	DateUpdated  time.Time
}

// TaskChannel (TC…) is a kind of work (chat, sms, whatsapp, voice…) that
// workers have separate capacity for.
type TaskChannel struct {
	Sid                     string `gorm:"primaryKey"`
	WorkspaceSid            string
	FriendlyName            string
	UniqueName              string
	ChannelOptimizedRouting bool
	// Ours, not on the wire: the capacity a new worker gets on this
	// channel, and the service level (answered within ServiceLevelSeconds)
	// and short-abandon threshold supervisors and insights measure with.
	DefaultCapacity     int
	ServiceLevelSeconds int
	ShortAbandonSeconds int
	DateCreated         time.Time
	DateUpdated         time.Time
}

// Worker (WK…) is an agent as the router sees them.
type Worker struct {
	Sid               string `gorm:"primaryKey"`
	WorkspaceSid      string
	FriendlyName      string
	Attributes        string
	ActivitySid       string
	Available         bool // derived from the activity
	DateStatusChanged time.Time
	LastReservedAt    *time.Time
	DateCreated       time.Time
	DateUpdated       time.Time
}

// WorkerChannel (WC…) is a worker's capacity on one task channel.
type WorkerChannel struct {
	Sid            string `gorm:"primaryKey"`
	WorkspaceSid   string
	WorkerSid      string
	TaskChannelSid string
	Capacity       int
	Available      bool
	Used           int // pending reservations + assigned and wrapping tasks
	Assigned       int // assigned and wrapping tasks
	DateCreated    time.Time
	DateUpdated    time.Time
}

// TaskQueue (WQ…) holds tasks for the workers its target expression selects.
type TaskQueue struct {
	Sid                    string `gorm:"primaryKey"`
	WorkspaceSid           string
	FriendlyName           string
	TargetWorkers          string
	MaxReservedWorkers     int
	TaskOrder              string // FIFO or LIFO
	ReservationActivitySid string
	AssignmentActivitySid  string
	DateCreated            time.Time
	DateUpdated            time.Time
}

// Workflow (WW…) decides, from a task's attributes, which queues and workers
// it goes to, in which order and for how long.
type Workflow struct {
	Sid                           string `gorm:"primaryKey"`
	WorkspaceSid                  string
	FriendlyName                  string
	Configuration                 string
	AssignmentCallbackURL         string `gorm:"column:assignment_callback_url"`
	FallbackAssignmentCallbackURL string `gorm:"column:fallback_assignment_callback_url"`
	TaskReservationTimeout        int
	DateCreated                   time.Time
	DateUpdated                   time.Time
}

// Task assignment statuses.
const (
	TaskPending   = "pending"
	TaskReserved  = "reserved"
	TaskAssigned  = "assigned"
	TaskWrapping  = "wrapping"
	TaskCompleted = "completed"
	TaskCanceled  = "canceled"
)

// Task (WT…) is a unit of work to route to one worker.
type Task struct {
	Sid                  string `gorm:"primaryKey"`
	WorkspaceSid         string
	Attributes           string
	AssignmentStatus     string
	Priority             int64
	Reason               string
	Timeout              int // time to live, seconds
	TaskChannelSid       string
	WorkflowSid          string
	TaskQueueSid         string
	TaskQueueEnteredDate *time.Time
	RoutingTarget        string
	IgnoreCapacity       bool
	VirtualStartTime     time.Time
	FilterIndex          int // -1: the workflow's default filter
	TargetIndex          int
	TargetEnteredAt      *time.Time
	WorkerSid            string // the assigned worker, once accepted
	DateCreated          time.Time
	DateUpdated          time.Time
}

// Reservation statuses.
const (
	ReservationPending   = "pending"
	ReservationAccepted  = "accepted"
	ReservationRejected  = "rejected"
	ReservationTimeout   = "timeout"
	ReservationCanceled  = "canceled"
	ReservationRescinded = "rescinded"
	ReservationWrapping  = "wrapping"
	ReservationCompleted = "completed"
)

// Reservation (WR…) is an offer of a task to one worker.
type Reservation struct {
	Sid               string `gorm:"primaryKey"`
	WorkspaceSid      string
	TaskSid           string
	WorkerSid         string
	TaskChannelSid    string
	ReservationStatus string
	TimeoutAt         time.Time
	DateCreated       time.Time
	DateUpdated       time.Time
}

// Event (EV…) is one entry of a workspace's history.
type Event struct {
	Sid            string `gorm:"primaryKey"`
	WorkspaceSid   string
	EventType      string
	EventDate      time.Time
	Description    string
	ResourceType   string
	ResourceSid    string
	TaskSid        string
	WorkerSid      string
	ReservationSid string
	TaskQueueSid   string
	WorkflowSid    string
	TaskChannel    string
	EventData      string
}

// TableName keeps TaskRouter's events apart from other event tables.
func (Event) TableName() string { return "taskrouter_events" }
