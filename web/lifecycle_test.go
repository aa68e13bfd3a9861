package web_test

import (
	"fmt"
	"testing"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

// TestWholeConversationLifecycleWithOnlyTwilioGo is the compatibility
// promise: a back end that uses only the official helper library runs a
// whole conversation against Switchboard.
func TestWholeConversationLifecycleWithOnlyTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName("Order #1001"))
		if err != nil {
			t.Fatal(err)
		}
		agent, err := tw.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).SetIdentity("agent-ana"))
		if err != nil {
			t.Fatal(err)
		}
		if agent.MessagingBinding != nil {
			t.Fatalf("a chat participant has messaging_binding %v, want null", *agent.MessagingBinding)
		}
		customer, err := tw.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).
			SetMessagingBindingAddress("+15551234567").SetMessagingBindingProxyAddress("+15557654321"))
		if err != nil {
			t.Fatal(err)
		}
		binding, _ := (*customer.MessagingBinding).(map[string]interface{})
		if binding["type"] != "sms" || binding["address"] != "+15551234567" || binding["proxy_address"] != "+15557654321" {
			t.Fatalf("messaging_binding = %v", *customer.MessagingBinding)
		}

		var sids []string
		for i := range 5 {
			author := "agent-ana"
			if i%2 == 1 {
				author = "+15551234567"
			}
			m, err := tw.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).
				SetAuthor(author).SetBody(fmt.Sprint("message ", i)).SetAttributes(`{"n":`+fmt.Sprint(i)+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if m.Index != i {
				t.Fatalf("message %d got index %d", i, m.Index)
			}
			if i == 0 && (m.ParticipantSid == nil || *m.ParticipantSid != *agent.Sid) {
				t.Fatalf("participant_sid = %v, want the agent's", m.ParticipantSid)
			}
			sids = append(sids, *m.Sid)
		}
		desc, err := tw.ListConversationMessage(*c.Sid, (&conv.ListConversationMessageParams{}).SetOrder("desc").SetPageSize(2))
		if err != nil || len(desc) != 5 || desc[0].Index != 4 || desc[4].Index != 0 {
			t.Fatalf("desc paging = %d messages (%v)", len(desc), err)
		}

		edited, err := tw.UpdateConversationMessage(*c.Sid, sids[1], (&conv.UpdateConversationMessageParams{}).SetBody("edited"))
		if err != nil || *edited.Body != "edited" || edited.DateUpdated == nil {
			t.Fatalf("edit = %+v, %v", edited, err)
		}
		if err := tw.DeleteConversationMessage(*c.Sid, sids[2], nil); err != nil {
			t.Fatal(err)
		}
		left, err := tw.ListConversationMessage(*c.Sid, nil)
		if err != nil || len(left) != 4 {
			t.Fatalf("after delete %d messages (%v), want 4", len(left), err)
		}

		read, err := tw.UpdateConversationParticipant(*c.Sid, "agent-ana", (&conv.UpdateConversationParticipantParams{}).SetLastReadMessageIndex(3))
		if err != nil || read.LastReadMessageIndex == nil || *read.LastReadMessageIndex != 3 || read.LastReadTimestamp == nil {
			t.Fatalf("read horizon = %+v, %v", read, err)
		}

		other, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		sameBinding := (&conv.CreateConversationParticipantParams{}).
			SetMessagingBindingAddress("+15551234567").SetMessagingBindingProxyAddress("+15557654321")
		_, err = tw.CreateConversationParticipant(*other.Sid, sameBinding)
		wantTwilioError(t, err, 50416, 409)

		if _, err := tw.UpdateConversation(*c.Sid, (&conv.UpdateConversationParams{}).SetState("closed")); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateConversationParticipant(*other.Sid, sameBinding); err != nil {
			t.Fatalf("closing should free the binding: %v", err)
		}
		_, err = tw.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).SetBody("too late"))
		wantTwilioError(t, err, 50377, 400)
	})
}

func TestParticipantsAndMessagesAnswerBadInputWithTwilioErrors(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).SetIdentity("ana")); err != nil {
			t.Fatal(err)
		}
		big := make([]byte, 32*1024+1)
		for i := range big {
			big[i] = 'a'
		}
		cases := []struct {
			name         string
			call         func() error
			code, status int
		}{
			{"identity twice", func() error {
				_, err := tw.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).SetIdentity("ana"))
				return err
			}, 50433, 409},
			{"bad address", func() error {
				_, err := tw.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).
					SetMessagingBindingAddress("not-a-number").SetMessagingBindingProxyAddress("+15557654321"))
				return err
			}, 50407, 400},
			{"participant in unknown conversation", func() error {
				_, err := tw.CreateConversationParticipant("CH00000000000000000000000000000000", (&conv.CreateConversationParticipantParams{}).SetIdentity("x"))
				return err
			}, 20404, 404},
			{"unknown participant", func() error {
				_, err := tw.FetchConversationParticipant(*c.Sid, "nobody")
				return err
			}, 20404, 404},
			{"empty message", func() error {
				_, err := tw.CreateConversationMessage(*c.Sid, nil)
				return err
			}, 20001, 400},
			{"oversize body", func() error {
				_, err := tw.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).SetBody(string(big)))
				return err
			}, 20001, 413},
			{"message attributes not JSON", func() error {
				_, err := tw.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).SetBody("x").SetAttributes("[1,"))
				return err
			}, 20001, 400},
			{"bad order", func() error {
				_, err := tw.ListConversationMessage(*c.Sid, (&conv.ListConversationMessageParams{}).SetOrder("sideways"))
				return err
			}, 20001, 400},
			{"unknown message", func() error {
				_, err := tw.FetchConversationMessage(*c.Sid, "IM00000000000000000000000000000000")
				return err
			}, 20404, 404},
			{"read horizon past the last message", func() error {
				_, err := tw.UpdateConversationParticipant(*c.Sid, "ana", (&conv.UpdateConversationParticipantParams{}).SetLastReadMessageIndex(0))
				return err
			}, 20001, 400},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { wantTwilioError(t, tc.call(), tc.code, tc.status) })
		}
		msgs, _ := tw.ListConversationMessage(*c.Sid, nil)
		parts, _ := tw.ListConversationParticipant(*c.Sid, nil)
		if len(msgs) != 0 || len(parts) != 1 {
			t.Fatalf("rejected calls wrote: %d messages, %d participants", len(msgs), len(parts))
		}
	})
}

func TestConversationWithParticipantsIsAllOrNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversationWithParticipants((&conv.CreateConversationWithParticipantsParams{}).
			SetFriendlyName("with people").SetParticipant([]string{`{"identity":"ana"}`,
			`{"messaging_binding":{"address":"+15550000001","proxy_address":"+15559999999"}}`}))
		if err != nil {
			t.Fatal(err)
		}
		parts, err := tw.ListConversationParticipant(*c.Sid, nil)
		if err != nil || len(parts) != 2 {
			t.Fatalf("participants = %d (%v), want 2", len(parts), err)
		}
		eleven := make([]string, 11)
		for i := range eleven {
			eleven[i] = fmt.Sprintf(`{"identity":"u%d"}`, i)
		}
		cases := []struct {
			name         string
			participants []string
			code, status int
		}{
			{"more than ten", eleven, 50426, 400},
			{"pair already in an open conversation", []string{`{"identity":"bo"}`,
				`{"messaging_binding":{"address":"+15550000001","proxy_address":"+15559999999"}}`}, 50425, 409},
			{"duplicate participants", []string{`{"identity":"bo"}`, `{"identity":"bo"}`}, 50437, 400},
			{"participant not JSON", []string{`identity=bo`}, 20001, 400},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tw.CreateConversationWithParticipants((&conv.CreateConversationWithParticipantsParams{}).
					SetFriendlyName("rejected").SetParticipant(tc.participants))
				wantTwilioError(t, err, tc.code, tc.status)
			})
		}
		all, err := tw.ListConversation(nil)
		if err != nil || len(all) != 1 {
			t.Fatalf("%d conversations after rejected requests (%v), want 1", len(all), err)
		}
	})
}
