package conversations

import "time"

// Role is a named set of permissions (RL…), of type "conversation" (granted
// to participants) or "service" (granted to users).
type Role struct {
	Sid          string `gorm:"primaryKey"`
	ServiceSid   string
	FriendlyName string
	Type         string
	Permissions  string // JSON array of permission names
	DateCreated  time.Time
	DateUpdated  time.Time
}

// Role types.
const (
	RoleTypeConversation = "conversation"
	RoleTypeService      = "service"
)

// conversationPermissions are the permissions a conversation role may grant.
var conversationPermissions = []string{
	"sendMessage", "sendMediaMessage", "leaveConversation", "addParticipant", "removeParticipant",
	"editConversationName", "editConversationAttributes", "editOwnMessage", "editOwnMessageAttributes",
	"editAnyMessage", "editAnyMessageAttributes", "deleteOwnMessage", "deleteAnyMessage",
	"editOwnParticipantAttributes", "editAnyParticipantAttributes", "deleteConversation",
}

// servicePermissions are the permissions a service role may grant.
var servicePermissions = []string{
	"createConversation", "joinConversation", "editOwnUserInfo", "editAnyUserInfo",
	"addParticipant", "removeParticipant", "deleteConversation", "editConversationName",
	"editConversationAttributes", "sendMessage", "sendMediaMessage", "leaveConversation",
	"editOwnMessage", "editOwnMessageAttributes", "editAnyMessage", "editAnyMessageAttributes",
	"deleteOwnMessage", "deleteAnyMessage", "editOwnParticipantAttributes", "editAnyParticipantAttributes",
}

// defaultRoles are created with every service, as Twilio does.
var defaultRoles = []struct {
	name, typ   string
	permissions []string
}{
	{"service admin", RoleTypeService, servicePermissions},
	{"service user", RoleTypeService, []string{"createConversation", "joinConversation", "editOwnUserInfo"}},
	{"channel admin", RoleTypeConversation, conversationPermissions},
	{"channel user", RoleTypeConversation, []string{
		"sendMessage", "sendMediaMessage", "leaveConversation", "editOwnMessage", "editOwnMessageAttributes",
		"deleteOwnMessage", "editOwnParticipantAttributes",
	}},
}
