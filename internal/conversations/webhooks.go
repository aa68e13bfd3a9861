package conversations

import "time"

// ConversationWebhook (WH…) is a webhook scoped to one conversation.
type ConversationWebhook struct {
	Sid             string `gorm:"primaryKey"`
	ServiceSid      string
	ConversationSid string
	Target          string // webhook, trigger or studio
	URL             string `gorm:"column:url"`
	Method          string
	Filters         string // JSON array
	Triggers        string // JSON array
	FlowSid         string
	ReplayAfter     *int
	DateCreated     time.Time
	DateUpdated     time.Time
}
