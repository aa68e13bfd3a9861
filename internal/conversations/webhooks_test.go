package conversations_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func hook(url string, filters ...string) conversations.ConversationWebhookParams {
	return conversations.ConversationWebhookParams{Target: ptr("webhook"), URL: &url, Filters: filters}
}

func TestConversationWebhookTargetsNeedWhereToDeliver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		cases := []struct {
			name string
			p    conversations.ConversationWebhookParams
			code int
		}{
			{"target missing", conversations.ConversationWebhookParams{URL: ptr("https://example.com")}, errs.CodeInvalidParam},
			{"target unknown", conversations.ConversationWebhookParams{Target: ptr("flex"), URL: ptr("https://example.com")}, errs.CodeInvalidParam},
			{"webhook without url", conversations.ConversationWebhookParams{Target: ptr("webhook")}, errs.CodeInvalidParam},
			{"url not absolute", hook("example.com/hook"), errs.CodeInvalidParam},
			{"method PUT", conversations.ConversationWebhookParams{Target: ptr("webhook"), URL: ptr("https://example.com"), Method: ptr("PUT")}, errs.CodeInvalidParam},
			{"trigger without keywords", conversations.ConversationWebhookParams{Target: ptr("trigger"), URL: ptr("https://example.com")}, errs.CodeInvalidParam},
			{"trigger with only an empty keyword", conversations.ConversationWebhookParams{Target: ptr("trigger"), URL: ptr("https://example.com"), Triggers: []string{""}}, errs.CodeInvalidParam},
			{"trigger without url", conversations.ConversationWebhookParams{Target: ptr("trigger"), Triggers: []string{"agent"}}, errs.CodeInvalidParam},
			{"studio without flow", conversations.ConversationWebhookParams{Target: ptr("studio")}, errs.CodeInvalidParam},
			{"studio with a malformed flow", conversations.ConversationWebhookParams{Target: ptr("studio"), FlowSid: ptr("FW1")}, errs.CodeInvalidParam},
			{"negative replay index", conversations.ConversationWebhookParams{Target: ptr("studio"), FlowSid: ptr(flowSid), ReplayAfter: ptr[int64](-1)}, errs.CodeInvalidParam},
			{"pre-event filter", hook("https://example.com", "onMessageAdd"), conversations.CodeBadWebhookFilter},
			{"user event filter", hook("https://example.com", "onUserAdded"), conversations.CodeBadWebhookFilter},
			{"conversation-added filter", hook("https://example.com", "onConversationAdded"), conversations.CodeBadWebhookFilter},
			{"misspelt filter", hook("https://example.com", "onMessageAdded", "onMesageUpdated"), conversations.CodeBadWebhookFilter},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, tc.p)
				wantKind(t, err, errs.Invalid, tc.code)
			})
		}
		if n := count(t, d, "conversation_webhooks", "1 = 1"); n != 0 {
			t.Fatalf("%d webhooks written by rejected requests", n)
		}

		w, err := f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, conversations.ConversationWebhookParams{
			Target: ptr("Trigger"), URL: ptr("http://bot.example.com"), Method: ptr("get"), Triggers: []string{"agent", "help"},
			Filters: []string{"onMessageAdded"}, ReplayAfter: ptr[int64](0)})
		if err != nil {
			t.Fatal(err)
		}
		if w.Target != "trigger" || w.Method != "GET" || strings.Join(w.TriggerList(), ",") != "agent,help" ||
			strings.Join(w.FilterList(), ",") != "onMessageAdded" || w.ReplayAfter == nil || *w.ReplayAfter != 0 {
			t.Fatalf("created = %+v", w)
		}
		s, err := f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, conversations.ConversationWebhookParams{
			Target: ptr("studio"), FlowSid: ptr(flowSid)})
		if err != nil || s.Method != "POST" || len(s.FilterList()) != 0 || s.ReplayAfter != nil {
			t.Fatalf("studio hook = %+v, %v", s, err)
		}
	})
}

func TestAConversationHoldsAtMostFiveWebhooksEvenUnderConcurrentCreates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		const tries = 12
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]error, tries)
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, results[i] = f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, hook("https://example.com"))
			}()
		}
		close(start)
		wg.Wait()
		made := 0
		for _, err := range results {
			switch {
			case err == nil:
				made++
			case errs.KindOf(err) != errs.Invalid || errs.CodeOf(err) != errs.CodeInvalidParam:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if made != conversations.MaxConversationWebhooks {
			t.Fatalf("%d webhooks created, want exactly %d", made, conversations.MaxConversationWebhooks)
		}
		hooks, more, err := f.e.ConversationWebhooks(f.ctx, f.service, c.Sid, conversations.Page{Limit: 5})
		if err != nil || more || len(hooks) != 5 {
			t.Fatalf("list = %d, more %v, %v", len(hooks), more, err)
		}
		if err := f.e.DeleteConversationWebhook(f.ctx, f.service, c.Sid, hooks[0].Sid); err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, hook("https://example.com")); err != nil {
			t.Fatalf("deleting one should make room for another: %v", err)
		}
		// The cap is per conversation.
		other := f.conversation(t, conversations.ConversationParams{})
		if _, err := f.e.CreateConversationWebhook(f.ctx, f.service, other.Sid, hook("https://example.com")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClosedConversationGetsNoWebhookChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		w, err := f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, hook("https://example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.UpdateConversation(f.ctx, f.service, c.Sid, conversations.ConversationParams{State: ptr("closed")}); err != nil {
			t.Fatal(err)
		}
		_, err = f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, hook("https://example.com"))
		wantKind(t, err, errs.Invalid, conversations.CodeClosed)
		_, err = f.e.UpdateConversationWebhook(f.ctx, f.service, c.Sid, w.Sid, conversations.ConversationWebhookParams{URL: ptr("https://other.example.com")})
		wantKind(t, err, errs.Invalid, conversations.CodeClosed)
		if err := f.e.DeleteConversationWebhook(f.ctx, f.service, c.Sid, w.Sid); err != nil {
			t.Fatalf("removing a closed conversation's webhook: %v", err)
		}
	})
}

func TestWebhookUpdateKeepsTargetAndReplayAfter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{UniqueName: ptr("order-1")})
		w, err := f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, hook("https://example.com", "onMessageAdded"))
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range map[string]conversations.ConversationWebhookParams{
			"target":       {Target: ptr("studio"), FlowSid: ptr(flowSid)},
			"replay after": {ReplayAfter: ptr[int64](3)},
			"url cleared":  {URL: ptr("")},
			"bad filter":   {Filters: []string{"onMessageAdd"}},
		} {
			if _, err := f.e.UpdateConversationWebhook(f.ctx, f.service, c.Sid, w.Sid, p); errs.KindOf(err) != errs.Invalid {
				t.Fatalf("update of %s: %v, want a bad-request error", name, err)
			}
		}
		if got, _ := f.e.ConversationWebhook(f.ctx, f.service, c.Sid, w.Sid); got.Target != "webhook" || got.URL != "https://example.com" ||
			got.FlowSid != "" || len(got.FilterList()) != 1 {
			t.Fatalf("rejected updates changed the webhook: %+v", got)
		}
		up, err := f.e.UpdateConversationWebhook(f.ctx, f.service, "order-1", w.Sid, conversations.ConversationWebhookParams{
			Target: ptr("WEBHOOK"), URL: ptr("https://new.example.com"), Method: ptr("get"), Filters: []string{""}})
		if err != nil {
			t.Fatal(err)
		}
		if up.URL != "https://new.example.com" || up.Method != "GET" || len(up.FilterList()) != 0 {
			t.Fatalf("updated = %+v; an empty Filters value should clear the filters", up)
		}
	})
}

func TestAWebhookIsReachableOnlyThroughItsConversation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		other := f.conversation(t, conversations.ConversationParams{})
		w, err := f.e.CreateConversationWebhook(f.ctx, f.service, c.Sid, hook("https://example.com"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.e.ConversationWebhook(f.ctx, f.service, other.Sid, w.Sid)
		wantKind(t, err, errs.NotFound, errs.CodeNotFound)
		wantKind(t, f.e.DeleteConversationWebhook(f.ctx, f.service, other.Sid, w.Sid), errs.NotFound, errs.CodeNotFound)
		svc := f.newService(t, "Elsewhere")
		_, _, err = f.e.ConversationWebhooks(f.ctx, svc.Sid, c.Sid, conversations.Page{Limit: 5})
		wantKind(t, err, errs.NotFound, errs.CodeNotFound)
		if err := f.e.DeleteConversation(f.ctx, f.service, c.Sid, "API"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, "conversation_webhooks", "sid = ?", w.Sid); n != 0 {
			t.Fatal("deleting the conversation left its webhook behind")
		}
	})
}
