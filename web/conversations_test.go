package web_test

import (
	"errors"
	"fmt"
	"testing"

	twclient "github.com/twilio/twilio-go/client"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// each runs fn against a fresh server on every database.
func each(t *testing.T, fn func(t *testing.T, s *webtest.Server)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) { fn(t, webtest.Start(t, d)) })
}

// wantTwilioError asserts err is Twilio's error body with the code and status.
func wantTwilioError(t *testing.T, err error, code, status int) {
	t.Helper()
	var te *twclient.TwilioRestError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v, want Twilio error %d", err, code)
	}
	if te.Code != code || te.Status != status {
		t.Fatalf("error = %d/%d %q, want code %d status %d", te.Code, te.Status, te.Message, code, status)
	}
	if te.Message == "" || te.MoreInfo == "" {
		t.Fatalf("error body lacks message or more_info: %+v", te)
	}
}

func TestConversationCRUDThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation((&conv.CreateConversationParams{}).
			SetFriendlyName("support-42").SetUniqueName("order-42").SetAttributes(`{"tier":"gold"}`))
		if err != nil {
			t.Fatal(err)
		}
		if *c.FriendlyName != "support-42" || *c.UniqueName != "order-42" || *c.State != "active" ||
			*c.Attributes != `{"tier":"gold"}` || *c.AccountSid != s.AccountSid || len(*c.Sid) != 34 {
			t.Fatalf("created = %+v", c)
		}
		if want := s.URL + "/v1/Conversations/" + *c.Sid; *c.Url != want {
			t.Fatalf("url = %s, want %s", *c.Url, want)
		}

		byName, err := tw.FetchConversation("order-42")
		if err != nil || *byName.Sid != *c.Sid {
			t.Fatalf("fetch by unique name = %v, %v", byName, err)
		}
		up, err := tw.UpdateConversation(*c.Sid, (&conv.UpdateConversationParams{}).SetFriendlyName("renamed").SetState("inactive"))
		if err != nil || *up.FriendlyName != "renamed" || *up.State != "inactive" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if err := tw.DeleteConversation(*c.Sid, nil); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchConversation(*c.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestConversationRulesAnswerWithTwilioCodes(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		if _, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetUniqueName("dup")); err != nil {
			t.Fatal(err)
		}
		closed, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName("to close"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.UpdateConversation(*closed.Sid, (&conv.UpdateConversationParams{}).SetState("closed")); err != nil {
			t.Fatal(err)
		}
		long := make([]byte, 257)
		for i := range long {
			long[i] = 'x'
		}
		cases := []struct {
			name         string
			call         func() error
			code, status int
		}{
			{"unique name taken", func() error {
				_, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetUniqueName("dup"))
				return err
			}, 50353, 409},
			{"attributes not JSON", func() error {
				_, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetAttributes("{nope"))
				return err
			}, 20001, 400},
			{"friendly name too long", func() error {
				_, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName(string(long)))
				return err
			}, 20001, 400},
			{"timers without state", func() error {
				_, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetTimersInactive("PT5M"))
				return err
			}, 50382, 400},
			{"inactive timer under a minute", func() error {
				_, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetState("active").SetTimersInactive("PT30S"))
				return err
			}, 20001, 400},
			{"bad state", func() error {
				_, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetState("paused"))
				return err
			}, 20001, 400},
			{"closed is final", func() error {
				_, err := tw.UpdateConversation(*closed.Sid, (&conv.UpdateConversationParams{}).SetState("active"))
				return err
			}, 50377, 400},
			{"unknown conversation", func() error {
				_, err := tw.FetchConversation("CH00000000000000000000000000000000")
				return err
			}, 20404, 404},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { wantTwilioError(t, tc.call(), tc.code, tc.status) })
		}
		all, err := tw.ListConversation(nil)
		if err != nil || len(all) != 2 {
			t.Fatalf("after rejected calls there are %d conversations (%v), want the 2 made", len(all), err)
		}
	})
}

func TestConversationListPagesAcrossPages(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		for i := range 7 {
			if _, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName(fmt.Sprint("c", i))); err != nil {
				t.Fatal(err)
			}
		}
		all, err := tw.ListConversation((&conv.ListConversationParams{}).SetPageSize(3))
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 7 {
			t.Fatalf("listed %d conversations over pages of 3, want 7", len(all))
		}
		seen := map[string]bool{}
		for _, c := range all {
			if seen[*c.Sid] {
				t.Fatalf("conversation %s listed twice", *c.Sid)
			}
			seen[*c.Sid] = true
		}
		page, err := tw.PageConversation((&conv.ListConversationParams{}).SetPageSize(3), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Conversations) != 3 || page.Meta.NextPageUrl == nil || page.Meta.Key != "conversations" {
			t.Fatalf("first page = %d items, meta %+v", len(page.Conversations), page.Meta)
		}
		limited, err := tw.ListConversation((&conv.ListConversationParams{}).SetLimit(4))
		if err != nil || len(limited) != 4 {
			t.Fatalf("limit 4 gave %d (%v)", len(limited), err)
		}
	})
}

func TestWrongCredentialsAreRefused(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		for _, creds := range [][2]string{{s.AccountSid, "wrongtoken"}, {"SK00000000000000000000000000000000", "x"}, {"nobody", "x"}} {
			_, err := s.Client(creds[0], creds[1]).ConversationsV1.ListConversation(nil)
			wantTwilioError(t, err, 20003, 401)
		}
	})
}
