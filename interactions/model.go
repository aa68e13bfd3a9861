// Package interactions is the Flex Interactions layer: it ties
// conversations to the tasks that route them. A customer's message in a
// conversation without open work becomes an interaction, a channel, an
// invite and a task; an agent who accepts joins the conversation in the same
// transaction; transfers, wrap-up and completion move task and conversation
// together. It calls the conversations engine through an interface it
// declares, and the engine never imports it.
package interactions

import "time"

// Interaction (KD…) is one piece of customer contact across its channels.
type Interaction struct {
	Sid                   string `gorm:"primaryKey"`
	Channel               string // the JSON it was created with
	Routing               string
	InteractionContextSid string
	WebhookTtid           string
	DateCreated           time.Time
	DateUpdated           time.Time
}

// Channel statuses.
const (
	ChannelSetup    = "setup"
	ChannelActive   = "active"
	ChannelInactive = "inactive"
	ChannelClosed   = "closed"
	ChannelFailed   = "failed"
)

// Channel (UO…) is an interaction's media channel: here always a conversation.
type Channel struct {
	Sid             string `gorm:"primaryKey"`
	InteractionSid  string
	Type            string // sms, whatsapp, web, chat…
	Status          string
	MediaChannelSid string // the conversation (CH…)
	ErrorCode       *int
	ErrorMessage    *string
	DateCreated     time.Time
	DateUpdated     time.Time
}

// TableName names the table of channels.
func (Channel) TableName() string { return "interaction_channels" }

// Participant types and statuses.
const (
	TypeAgent      = "agent"
	TypeCustomer   = "customer"
	TypeSupervisor = "supervisor"
	TypeExternal   = "external"

	ParticipantActive = "active"
	ParticipantWrapup = "wrapup"
	ParticipantClosed = "closed"
)

// Participant (UT…) is someone in an interaction channel, mirrored by a
// conversation participant.
type Participant struct {
	Sid                        string `gorm:"primaryKey"`
	InteractionSid             string
	ChannelSid                 string
	Type                       string
	Status                     string
	MediaProperties            string
	RoutingProperties          string // {task_sid, worker_sid, reservation_sid} for agents
	ConversationParticipantSid string
	DateCreated                time.Time
	DateUpdated                time.Time
}

// TableName names the table of participants.
func (Participant) TableName() string { return "interaction_participants" }

// Invite (KG…) asks TaskRouter to find someone for a channel: one task.
type Invite struct {
	Sid            string `gorm:"primaryKey"`
	InteractionSid string
	ChannelSid     string
	Routing        string
	TaskSid        string
	Status         string // pending, accepted, ended
	DateCreated    time.Time
	DateUpdated    time.Time
}

// TableName names the table of invites.
func (Invite) TableName() string { return "interaction_invites" }

// Transfer types.
const (
	TransferCold = "cold"
	TransferWarm = "warm"
)

// Transfer (UX…) moves a channel's work from one agent to another agent or a
// queue, through a new invite.
type Transfer struct {
	Sid            string `gorm:"primaryKey"`
	InteractionSid string
	ChannelSid     string
	Type           string
	Status         string // active, completed, failed
	FromSid        string // the transferring agent's participant (UT…)
	ToSid          string // a worker (WK…) or queue (WQ…)
	Note           string
	InviteSid      string
	DateCreated    time.Time
	DateUpdated    time.Time
}

// TableName names the table of transfers.
func (Transfer) TableName() string { return "interaction_transfers" }
