package web

import (
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// participantSpec is one Participant[] value of ConversationWithParticipants:
// a JSON object with the Participant resource's parameters.
type participantSpec struct {
	Identity         *string `json:"identity"`
	Attributes       *string `json:"attributes"`
	RoleSid          *string `json:"role_sid"`
	MessagingBinding *struct {
		Address          *string `json:"address"`
		ProxyAddress     *string `json:"proxy_address"`
		ProjectedAddress *string `json:"projected_address"`
	} `json:"messaging_binding"`
}

func (a *restAPI) createConversationWithParticipants(c *fiber.Ctx) error {
	p, err := conversationParams(c)
	if err != nil {
		return err
	}
	raw, _ := form{c}.strs("Participant")
	members := make([]conversations.ParticipantParams, len(raw))
	for i, r := range raw {
		var spec participantSpec
		dec := json.NewDecoder(strings.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return errs.Invalidf("Participant %d must be a JSON object such as {\"identity\":\"alice\"}: %v", i+1, err)
		}
		m := conversations.ParticipantParams{Identity: spec.Identity, Attributes: spec.Attributes, RoleSid: spec.RoleSid, Source: sourceAPI}
		if b := spec.MessagingBinding; b != nil {
			m.Address, m.ProxyAddress, m.ProjectedAddress = b.Address, b.ProxyAddress, b.ProjectedAddress
		}
		members[i] = m
	}
	v, err := a.conv.CreateConversationWithParticipants(c.UserContext(), serviceOf(c), p, members)
	if err != nil {
		return err
	}
	return created(c, a.conversationJSON(c, v))
}
