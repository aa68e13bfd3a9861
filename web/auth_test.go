package web_test

import (
	"context"
	"net/http"
	"testing"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/web/webtest"
)

func TestAnAPIKeyAuthenticatesLikeTheAuthToken(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		key, secret, err := auth.NewStore(s.DB).CreateAPIKey(context.Background(), "backend")
		if err != nil {
			t.Fatal(err)
		}
		tw := s.Client(key.Sid, secret).ConversationsV1
		c, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName("via key"))
		if err != nil {
			t.Fatal(err)
		}
		if *c.AccountSid != s.AccountSid {
			t.Fatalf("account_sid = %s, want %s", *c.AccountSid, s.AccountSid)
		}
		_, err = s.Client(key.Sid, secret+"x").ConversationsV1.FetchConversation(*c.Sid)
		wantTwilioError(t, err, 20003, 401)
	})
}

func TestRequestsWithoutCredentialsGetAChallenge(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		resp, err := http.Get(s.URL + "/v1/Conversations")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
}
