package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

type userJSON struct {
	Sid            string            `json:"sid"`
	AccountSid     string            `json:"account_sid"`
	ChatServiceSid string            `json:"chat_service_sid"`
	RoleSid        *string           `json:"role_sid"`
	Identity       string            `json:"identity"`
	FriendlyName   *string           `json:"friendly_name"`
	Attributes     string            `json:"attributes"`
	IsOnline       *bool             `json:"is_online"`
	IsNotifiable   *bool             `json:"is_notifiable"`
	DateCreated    string            `json:"date_created"`
	DateUpdated    string            `json:"date_updated"`
	URL            string            `json:"url"`
	Links          map[string]string `json:"links"`
}

func (a *restAPI) userJSON(c *fiber.Ctx, u conversations.User) userJSON {
	url := a.scopeURL(c, "/Users/"+u.Sid)
	return userJSON{
		Sid: u.Sid, AccountSid: a.conv.AccountSid(), ChatServiceSid: u.ServiceSid, RoleSid: nullable(u.RoleSid),
		Identity: u.Identity, FriendlyName: nullable(u.FriendlyName), Attributes: u.Attributes, IsOnline: u.IsOnline,
		DateCreated: isoTime(u.DateCreated), DateUpdated: isoTime(u.DateUpdated), URL: url,
		Links: map[string]string{"user_conversations": url + "/Conversations"},
	}
}

// userKey is the path's user: a SID, or an identity, which may hold a "+"
// (phone numbers, plus-addressed emails).
func userKey(c *fiber.Ctx) string { return param(c, "User") }

func userParams(c *fiber.Ctx) conversations.UserParams {
	f := form{c}
	return conversations.UserParams{Identity: f.str("Identity"), FriendlyName: f.str("FriendlyName"),
		Attributes: f.str("Attributes"), RoleSid: f.str("RoleSid"), Source: sourceAPI}
}

func (a *restAPI) createUser(c *fiber.Ctx) error {
	u, err := a.conv.CreateUser(c.UserContext(), serviceOf(c), userParams(c))
	if err != nil {
		return err
	}
	return created(c, a.userJSON(c, u))
}

func (a *restAPI) fetchUser(c *fiber.Ctx) error {
	u, err := a.conv.User(c.UserContext(), serviceOf(c), userKey(c))
	if err != nil {
		return err
	}
	return c.JSON(a.userJSON(c, u))
}

func (a *restAPI) updateUser(c *fiber.Ctx) error {
	u, err := a.conv.UpdateUser(c.UserContext(), serviceOf(c), userKey(c), userParams(c))
	if err != nil {
		return err
	}
	return c.JSON(a.userJSON(c, u))
}

func (a *restAPI) deleteUser(c *fiber.Ctx) error {
	if err := a.conv.DeleteUser(c.UserContext(), serviceOf(c), userKey(c), sourceAPI); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *restAPI) listUsers(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 50)
	if err != nil {
		return err
	}
	rows, more, err := a.conv.Users(c.UserContext(), serviceOf(c), pg.Page)
	if err != nil {
		return err
	}
	out := make([]userJSON, len(rows))
	for i, u := range rows {
		out[i] = a.userJSON(c, u)
	}
	return c.JSON(fiber.Map{"users": out, "meta": meta(c, a.scopeURL(c, "/Users"), "users", pg, more)})
}

type userConversationJSON struct {
	AccountSid           string            `json:"account_sid"`
	ChatServiceSid       string            `json:"chat_service_sid"`
	ConversationSid      string            `json:"conversation_sid"`
	UnreadMessagesCount  *int64            `json:"unread_messages_count"`
	LastReadMessageIndex *int64            `json:"last_read_message_index"`
	ParticipantSid       string            `json:"participant_sid"`
	UserSid              string            `json:"user_sid"`
	FriendlyName         *string           `json:"friendly_name"`
	ConversationState    string            `json:"conversation_state"`
	Timers               map[string]string `json:"timers"`
	Attributes           string            `json:"attributes"`
	DateCreated          string            `json:"date_created"`
	DateUpdated          string            `json:"date_updated"`
	CreatedBy            *string           `json:"created_by"` // the engine does not record creators
	NotificationLevel    string            `json:"notification_level"`
	UniqueName           *string           `json:"unique_name"`
	URL                  string            `json:"url"`
	Links                map[string]string `json:"links"`
}

func (a *restAPI) userConversationJSON(c *fiber.Ctx, uc conversations.UserConversation) userConversationJSON {
	conv := a.conversationJSON(c, uc.Conversation)
	p := uc.Participant
	return userConversationJSON{
		AccountSid: conv.AccountSid, ChatServiceSid: conv.ChatServiceSid, ConversationSid: conv.Sid,
		UnreadMessagesCount: uc.UnreadMessagesCount, LastReadMessageIndex: p.LastReadMessageIndex, ParticipantSid: p.Sid,
		UserSid: uc.UserSid, FriendlyName: conv.FriendlyName, ConversationState: conv.State, Timers: conv.Timers,
		Attributes: conv.Attributes, DateCreated: conv.DateCreated, DateUpdated: conv.DateUpdated,
		NotificationLevel: p.NotificationLevel, UniqueName: conv.UniqueName,
		URL:   a.scopeURL(c, "/Users/"+uc.UserSid+"/Conversations/"+conv.Sid),
		Links: map[string]string{"participant": conv.URL + "/Participants/" + p.Sid, "conversation": conv.URL},
	}
}

func (a *restAPI) listUserConversations(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 50)
	if err != nil {
		return err
	}
	rows, more, err := a.conv.UserConversations(c.UserContext(), serviceOf(c), userKey(c), pg.Page)
	if err != nil {
		return err
	}
	out := make([]userConversationJSON, len(rows))
	for i, uc := range rows {
		out[i] = a.userConversationJSON(c, uc)
	}
	list := a.scopeURL(c, "/Users/"+userKey(c)+"/Conversations")
	return c.JSON(fiber.Map{"conversations": out, "meta": meta(c, list, "conversations", pg, more)})
}

func (a *restAPI) fetchUserConversation(c *fiber.Ctx) error {
	uc, err := a.conv.UserConversation(c.UserContext(), serviceOf(c), userKey(c), param(c, "Conversation"))
	if err != nil {
		return err
	}
	return c.JSON(a.userConversationJSON(c, uc))
}

func (a *restAPI) updateUserConversation(c *fiber.Ctx) error {
	f := form{c}
	p := conversations.UserConversationParams{NotificationLevel: f.str("NotificationLevel"), Source: sourceAPI}
	var err error
	if p.LastReadMessageIndex, err = f.integer("LastReadMessageIndex"); err != nil {
		return err
	}
	if p.LastReadTimestamp, err = f.date("LastReadTimestamp"); err != nil {
		return err
	}
	uc, err := a.conv.UpdateUserConversation(c.UserContext(), serviceOf(c), userKey(c), param(c, "Conversation"), p)
	if err != nil {
		return err
	}
	return c.JSON(a.userConversationJSON(c, uc))
}

func (a *restAPI) deleteUserConversation(c *fiber.Ctx) error {
	if err := a.conv.LeaveConversation(c.UserContext(), serviceOf(c), userKey(c), param(c, "Conversation"), sourceAPI); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
