package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

// addParticipantConversationRoutes mounts /ParticipantConversations.
func (a *restAPI) addParticipantConversationRoutes(s scoped) {
	s.get("/ParticipantConversations", a.listParticipantConversations)
}

// participantConversationJSON has no url of its own: Twilio links to the
// participant and the conversation instead.
type participantConversationJSON struct {
	AccountSid                  string            `json:"account_sid"`
	ChatServiceSid              string            `json:"chat_service_sid"`
	ParticipantSid              string            `json:"participant_sid"`
	ParticipantUserSid          *string           `json:"participant_user_sid"`
	ParticipantIdentity         *string           `json:"participant_identity"`
	ParticipantMessagingBinding map[string]string `json:"participant_messaging_binding"`
	ConversationSid             string            `json:"conversation_sid"`
	ConversationUniqueName      *string           `json:"conversation_unique_name"`
	ConversationFriendlyName    *string           `json:"conversation_friendly_name"`
	ConversationAttributes      string            `json:"conversation_attributes"`
	ConversationDateCreated     string            `json:"conversation_date_created"`
	ConversationDateUpdated     string            `json:"conversation_date_updated"`
	ConversationCreatedBy       *string           `json:"conversation_created_by"`
	ConversationState           string            `json:"conversation_state"`
	ConversationTimers          map[string]string `json:"conversation_timers"`
	Links                       map[string]string `json:"links"`
}

// participantConversationJSON reuses the participant and conversation
// renderings so the nested fields read exactly as those resources do.
func (a *restAPI) participantConversationJSON(c *fiber.Ctx, v conversations.ParticipantConversation) participantConversationJSON {
	p, cv := a.participantJSON(c, v.Participant), a.conversationJSON(c, v.Conversation)
	return participantConversationJSON{
		AccountSid: a.conv.AccountSid(), ChatServiceSid: cv.ChatServiceSid, ParticipantSid: p.Sid,
		ParticipantUserSid: nullable(v.UserSid), ParticipantIdentity: p.Identity, ParticipantMessagingBinding: p.MessagingBinding,
		ConversationSid: cv.Sid, ConversationUniqueName: cv.UniqueName, ConversationFriendlyName: cv.FriendlyName,
		ConversationAttributes: cv.Attributes, ConversationDateCreated: cv.DateCreated, ConversationDateUpdated: cv.DateUpdated,
		ConversationState: cv.State, ConversationTimers: cv.Timers,
		Links: map[string]string{"participant": p.URL, "conversation": cv.URL},
	}
}

func (a *restAPI) listParticipantConversations(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 50)
	if err != nil {
		return err
	}
	f := form{c}
	var k conversations.ParticipantKey
	if s := f.str("Identity"); s != nil {
		k.Identity = *s
	}
	if s := f.str("Address"); s != nil {
		k.Address = *s
	}
	rows, more, err := a.conv.ParticipantConversations(c.UserContext(), serviceOf(c), k, pg.Page)
	if err != nil {
		return err
	}
	out := make([]participantConversationJSON, len(rows))
	for i, v := range rows {
		out[i] = a.participantConversationJSON(c, v)
	}
	return c.JSON(fiber.Map{"conversations": out, "meta": meta(c, a.scopeURL(c, "/ParticipantConversations"), "conversations", pg, more)})
}
