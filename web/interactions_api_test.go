package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	tr "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// The customer's number and the business number it writes to.
const (
	ixCustomer = "+15551230001"
	ixProxy    = "+15550001000"
)

// ixEnv is one test's server with the default workspace looked up the way
// a Flex plugin would: through twilio-go.
type ixEnv struct {
	t     *testing.T
	s     *webtest.Server
	trc   *tr.ApiService
	cv    *conv.ApiService
	fx    *flexv1.ApiService
	ws    string
	avail string
}

func newIxEnv(t *testing.T, s *webtest.Server) *ixEnv {
	t.Helper()
	e := &ixEnv{t: t, s: s, trc: s.Twilio.TaskrouterV1, cv: s.Twilio.ConversationsV1, fx: s.Twilio.FlexV1}
	spaces, err := e.trc.ListWorkspace(nil)
	if err != nil || len(spaces) != 1 {
		t.Fatalf("workspaces = %d (%v), want the default one", len(spaces), err)
	}
	e.ws = *spaces[0].Sid
	acts, err := e.trc.ListActivity(e.ws, (&tr.ListActivityParams{}).SetFriendlyName("Available"))
	if err != nil || len(acts) != 1 {
		t.Fatalf("Available activity: %v (%v)", acts, err)
	}
	e.avail = *acts[0].Sid
	return e
}

func (e *ixEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// worker creates an available worker whose Flex identity is its name;
// extra attributes (a JSON object's members, e.g. `"team":"billing"`) may follow.
func (e *ixEnv) worker(name, extra string) string {
	e.t.Helper()
	attrs := `{"contact_uri":"client:` + name + `"`
	if extra != "" {
		attrs += "," + extra
	}
	w, err := e.trc.CreateWorker(e.ws, (&tr.CreateWorkerParams{}).SetFriendlyName(name).SetAttributes(attrs+"}").SetActivitySid(e.avail))
	e.must(err)
	return *w.Sid
}

// queue creates a task queue for the workers the expression matches.
func (e *ixEnv) queue(name, expr string) string {
	e.t.Helper()
	q, err := e.trc.CreateTaskQueue(e.ws, (&tr.CreateTaskQueueParams{}).SetFriendlyName(name).SetTargetWorkers(expr))
	e.must(err)
	return *q.Sid
}

// customerConversation is a conversation with one SMS customer and no messages.
func (e *ixEnv) customerConversation(address string) string {
	e.t.Helper()
	c, err := e.cv.CreateConversation(nil)
	e.must(err)
	_, err = e.cv.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).
		SetMessagingBindingAddress(address).SetMessagingBindingProxyAddress(ixProxy))
	e.must(err)
	return *c.Sid
}

func (e *ixEnv) say(convSid, author, body string) {
	e.t.Helper()
	_, err := e.cv.CreateConversationMessage(convSid, (&conv.CreateConversationMessageParams{}).SetAuthor(author).SetBody(body))
	e.must(err)
}

// bind creates an interaction on an existing conversation, as an inbound
// Flex integration does, and returns it with its channel.
func (e *ixEnv) bind(convSid string, attrs map[string]any) (*flexv1.FlexV1Interaction, string) {
	e.t.Helper()
	props := map[string]any{"workspace_sid": e.ws, "task_channel_unique_name": "sms"}
	if attrs != nil {
		props["attributes"] = attrs
	}
	in, err := e.fx.CreateInteraction((&flexv1.CreateInteractionParams{}).
		SetChannel(map[string]any{"type": "sms", "initiated_by": "customer", "properties": map[string]any{"media_channel_sid": convSid}}).
		SetRouting(map[string]any{"properties": props}))
	e.must(err)
	chs, err := e.fx.ListInteractionChannel(*in.Sid, nil)
	e.must(err)
	// Clients take the channel from the interaction: channel.sid.
	if len(chs) != 1 || ixObject(in.Channel)["sid"] != *chs[0].Sid {
		e.t.Fatalf("interaction %s has %d channels, and channel %v", *in.Sid, len(chs), ixObject(in.Channel))
	}
	return in, *chs[0].Sid
}

func (e *ixEnv) settle() { e.t.Helper(); settle(e.t, e.s, e.ws) }

// offers lists a worker's pending reservations.
func (e *ixEnv) offers(worker string) []tr.TaskrouterV1WorkerReservation {
	e.t.Helper()
	rs, err := e.trc.ListWorkerReservation(e.ws, worker, (&tr.ListWorkerReservationParams{}).SetReservationStatus("pending"))
	e.must(err)
	return rs
}

// offer is a worker's one pending reservation.
func (e *ixEnv) offer(worker string) tr.TaskrouterV1WorkerReservation {
	e.t.Helper()
	rs := e.offers(worker)
	if len(rs) != 1 {
		e.t.Fatalf("worker %s has %d pending offers, want 1", worker, len(rs))
	}
	return rs[0]
}

// accept accepts a reservation through TaskRouter.
func (e *ixEnv) accept(r tr.TaskrouterV1WorkerReservation) {
	e.t.Helper()
	_, err := e.trc.UpdateWorkerReservation(e.ws, *r.WorkerSid, *r.Sid, (&tr.UpdateWorkerReservationParams{}).SetReservationStatus("accepted"))
	e.must(err)
}

func (e *ixEnv) task(taskSid string) *tr.TaskrouterV1Task {
	e.t.Helper()
	t, err := e.trc.FetchTask(e.ws, taskSid)
	e.must(err)
	return t
}

func (e *ixEnv) taskStatus(taskSid string) string {
	e.t.Helper()
	return *e.task(taskSid).AssignmentStatus
}

func (e *ixEnv) taskAttrs(taskSid string) map[string]any {
	e.t.Helper()
	var attrs map[string]any
	e.must(json.Unmarshal([]byte(*e.task(taskSid).Attributes), &attrs))
	return attrs
}

func (e *ixEnv) tasks() []tr.TaskrouterV1Task {
	e.t.Helper()
	ts, err := e.trc.ListTask(e.ws, nil)
	e.must(err)
	return ts
}

// members maps a conversation's participants by identity or SMS address.
func (e *ixEnv) members(convSid string) map[string]conv.ConversationsV1ConversationParticipant {
	e.t.Helper()
	ps, err := e.cv.ListConversationParticipant(convSid, nil)
	e.must(err)
	out := map[string]conv.ConversationsV1ConversationParticipant{}
	for _, p := range ps {
		switch {
		case p.Identity != nil && *p.Identity != "":
			out[*p.Identity] = p
		case p.MessagingBinding != nil:
			if b, ok := (*p.MessagingBinding).(map[string]any); ok {
				out[fmt.Sprint(b["address"])] = p
			}
		}
	}
	return out
}

func (e *ixEnv) convState(convSid string) string {
	e.t.Helper()
	c, err := e.cv.FetchConversation(convSid)
	e.must(err)
	return *c.State
}

func (e *ixEnv) channelStatus(ix, ch string) string {
	e.t.Helper()
	c, err := e.fx.FetchInteractionChannel(ix, ch)
	e.must(err)
	return *c.Status
}

// agentOf is the active-or-not agent participant of a channel working a worker's task.
func (e *ixEnv) agentOf(ix, ch, worker string) flexv1.FlexV1InteractionChannelParticipant {
	e.t.Helper()
	ps, err := e.fx.ListInteractionChannelParticipant(ix, ch, nil)
	e.must(err)
	var found []flexv1.FlexV1InteractionChannelParticipant
	for _, p := range ps {
		if *p.Type == "agent" && ixObject(p.RoutingProperties)["worker_sid"] == worker {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		e.t.Fatalf("channel %s has no agent participant for worker %s (participants %d)", ch, worker, len(ps))
	}
	return found[len(found)-1]
}

// customerUT is the channel's customer participant.
func (e *ixEnv) customerUT(ix, ch string) string {
	e.t.Helper()
	ps, err := e.fx.ListInteractionChannelParticipant(ix, ch, nil)
	e.must(err)
	for _, p := range ps {
		if *p.Type == "customer" {
			return *p.Sid
		}
	}
	e.t.Fatalf("channel %s has no customer participant", ch)
	return ""
}

// workingAgent binds a conversation to an interaction whose task the worker
// accepted: the usual starting point of a transfer or wrap-up.
func (e *ixEnv) workingAgent(worker string) (convSid, ix, ch, taskSid string) {
	e.t.Helper()
	convSid = e.customerConversation(ixCustomer)
	in, ch := e.bind(convSid, nil)
	e.settle()
	r := e.offer(worker)
	e.accept(r)
	return convSid, *in.Sid, ch, *r.TaskSid
}

// ixObject reads one of twilio-go's free-form JSON fields as an object.
func ixObject(v *interface{}) map[string]any {
	if v == nil {
		return nil
	}
	m, _ := (*v).(map[string]any)
	return m
}

// ixPost sends what twilio-go cannot: Flex UI's own calls. A map[string]any
// body goes as JSON, url.Values as a form.
func (e *ixEnv) ixPost(path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	ct := "application/x-www-form-urlencoded"
	switch b := body.(type) {
	case url.Values:
		rd = strings.NewReader(b.Encode())
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		e.must(err)
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(http.MethodPost, e.s.URL+path, rd)
	e.must(err)
	req.SetBasicAuth(e.s.AccountSid, e.s.AuthToken)
	req.Header.Set("Content-Type", ct)
	res, err := http.DefaultClient.Do(req)
	e.must(err)
	defer res.Body.Close()
	var out map[string]any
	e.must(json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

// answerInvite accepts or declines an invite's reservation the way Flex UI
// does, as a form or (asJSON) as a JSON body.
func (e *ixEnv) answerInvite(ix, ch, invite, action, reservation string, asJSON bool) (int, map[string]any) {
	e.t.Helper()
	path := "/v1/Interactions/" + ix + "/Channels/" + ch + "/Invites/" + invite
	routing := map[string]any{"type": "taskrouter", "properties": map[string]any{}, "reservation": map[string]any{"sid": reservation}}
	if asJSON {
		return e.ixPost(path, map[string]any{"action": action, "routing": routing})
	}
	raw, err := json.Marshal(routing)
	e.must(err)
	return e.ixPost(path, url.Values{"action": {action}, "routing": {string(raw)}})
}

// wantIxError checks a raw Twilio error answer.
func wantIxError(t *testing.T, status int, body map[string]any, code, wantStatus int) {
	t.Helper()
	if status != wantStatus || body["code"] != float64(code) || body["status"] != float64(wantStatus) || body["message"] == "" {
		t.Fatalf("answer = %d %v, want Twilio error %d/%d", status, body, code, wantStatus)
	}
}

// inviteTask is the task an invite made (Flex reads routing.properties.sid).
func inviteTask(inv *flexv1.FlexV1InteractionChannelInvite) string {
	props, _ := ixObject(inv.Routing)["properties"].(map[string]any)
	s, _ := props["sid"].(string)
	return s
}

func TestCreateInteractionOnAConversationRoutesATaskWithTheGivenAttributes(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		convSid := e.customerConversation(ixCustomer)
		channel := map[string]any{"type": "sms", "initiated_by": "customer", "properties": map[string]any{"media_channel_sid": convSid}}
		in, err := e.fx.CreateInteraction((&flexv1.CreateInteractionParams{}).SetChannel(channel).
			SetRouting(map[string]any{"properties": map[string]any{"workspace_sid": e.ws, "task_channel_unique_name": "sms",
				"attributes": map[string]any{"customerName": "Casey", "tier": "gold"}}}).
			SetWebhookTtid("flex_interactionwebhook_01"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(*in.Sid, "KD") || *in.Url != s.URL+"/v1/Interactions/"+*in.Sid ||
			(*in.Links)["channels"] != *in.Url+"/Channels" || *in.WebhookTtid != "flex_interactionwebhook_01" {
			t.Fatalf("created = %+v", in)
		}
		ch := ixObject(in.Channel)
		chSid, _ := ch["sid"].(string)
		if ch["type"] != "sms" || ch["initiated_by"] != "customer" || !strings.HasPrefix(chSid, "UO") {
			t.Fatalf("channel = %v, want the Channel it was created with and its sid", ch)
		}
		if got, err := e.fx.FetchInteractionChannel(*in.Sid, chSid); err != nil || *got.Status != "active" || *got.Type != "sms" {
			t.Fatalf("channel.sid %s does not fetch the channel: %+v (%v)", chSid, got, err)
		}
		if r, ok := ixObject(in.Routing)["reservation"]; !ok || r != nil {
			t.Fatalf("routing.reservation = %v (present %v), want null", r, ok)
		}
		props, _ := ixObject(in.Routing)["properties"].(map[string]any)
		taskSid, _ := props["sid"].(string)
		attrs, _ := props["attributes"].(map[string]any)
		if !strings.HasPrefix(taskSid, "WT") || props["workspace_sid"] != e.ws || attrs == nil {
			t.Fatalf("routing.properties = %v, want the task", props)
		}
		if attrs["tier"] != "gold" || attrs["customerName"] != "Casey" || attrs["conversationSid"] != convSid ||
			attrs["flexInteractionSid"] != *in.Sid || attrs["channelType"] != "sms" || attrs["customerAddress"] != ixCustomer ||
			attrs["flexInteractionChannelSid"] != chSid || attrs["direction"] != "inbound" || attrs["initiatedBy"] != "customer" {
			t.Fatalf("routing.properties.attributes = %v", attrs)
		}

		// The task is the one TaskRouter has, on the sms channel, and is offered.
		task := e.task(taskSid)
		if *task.TaskChannelUniqueName != "sms" || e.taskAttrs(taskSid)["tier"] != "gold" {
			t.Fatalf("task = channel %s attributes %s", *task.TaskChannelUniqueName, *task.Attributes)
		}
		if got := e.tasks(); len(got) != 1 {
			t.Fatalf("%d tasks, want the interaction's one", len(got))
		}
		e.settle()
		if r := e.offer(ana); *r.TaskSid != taskSid {
			t.Fatalf("ana was offered %s, want %s", *r.TaskSid, taskSid)
		}

		got, err := e.fx.FetchInteraction(*in.Sid)
		if err != nil || *got.Sid != *in.Sid || ixObject(got.Channel)["type"] != "sms" || ixObject(got.Channel)["sid"] != chSid ||
			*got.WebhookTtid != "flex_interactionwebhook_01" {
			t.Fatalf("fetched = %+v (%v)", got, err)
		}
		up, err := e.fx.UpdateInteraction(*in.Sid, (&flexv1.UpdateInteractionParams{}).SetWebhookTtid("flex_interactionwebhook_02"))
		if err != nil || *up.WebhookTtid != "flex_interactionwebhook_02" || ixObject(up.Channel)["sid"] != chSid {
			t.Fatalf("updated = %+v (%v)", up, err)
		}
		if got, _ := e.fx.FetchInteraction(*in.Sid); *got.WebhookTtid != "flex_interactionwebhook_02" {
			t.Fatalf("after the update webhook_ttid = %s", *got.WebhookTtid)
		}
	})
}

func TestASecondInteractionOnTheSameConversationIsAConflict(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		convSid := e.customerConversation(ixCustomer)
		first, _ := e.bind(convSid, nil)
		_, err := e.fx.CreateInteraction((&flexv1.CreateInteractionParams{}).
			SetChannel(map[string]any{"type": "sms", "initiated_by": "customer", "properties": map[string]any{"media_channel_sid": convSid}}).
			SetRouting(map[string]any{"properties": map[string]any{"workspace_sid": e.ws}}))
		wantTwilioError(t, err, 20001, 409)
		if !strings.Contains(err.Error(), convSid) || !strings.Contains(err.Error(), "already has an open interaction") {
			t.Fatalf("the conflict does not say why: %v", err)
		}
		if ts := e.tasks(); len(ts) != 1 || e.taskAttrs(*ts[0].Sid)["flexInteractionSid"] != *first.Sid {
			t.Fatalf("after the refused interaction there are %d tasks, want the first interaction's one", len(ts))
		}
	})
}

func TestCreateInteractionRefusesBadChannelsAndUnknownConversations(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		convSid := e.customerConversation(ixCustomer)
		create := func(channel, routing any) error {
			p := (&flexv1.CreateInteractionParams{}).SetChannel(channel)
			if routing != nil {
				p.SetRouting(routing)
			}
			_, err := e.fx.CreateInteraction(p)
			return err
		}
		bound := map[string]any{"type": "sms", "initiated_by": "customer", "properties": map[string]any{"media_channel_sid": convSid}}
		closed := e.customerConversation("+15551230002")
		_, err := e.cv.UpdateConversation(closed, (&conv.UpdateConversationParams{}).SetState("closed"))
		e.must(err)
		cases := []struct {
			name         string
			call         func() error
			code, status int
		}{
			{"channel is a JSON string, not an object", func() error { return create("sms", nil) }, 20001, 400},
			{"channel without a type", func() error {
				return create(map[string]any{"initiated_by": "customer", "properties": map[string]any{"media_channel_sid": convSid}}, nil)
			}, 20001, 400},
			{"channel with neither a conversation nor participants", func() error {
				return create(map[string]any{"type": "sms", "initiated_by": "customer"}, nil)
			}, 20001, 400},
			{"routing is not an object", func() error { return create(bound, "queue please") }, 20001, 400},
			{"no channel at all", func() error {
				_, err := e.fx.CreateInteraction((&flexv1.CreateInteractionParams{}).SetRouting(map[string]any{}))
				return err
			}, 20001, 400},
			{"unknown conversation", func() error {
				return create(map[string]any{"type": "sms", "initiated_by": "customer",
					"properties": map[string]any{"media_channel_sid": "CH00000000000000000000000000000000"}}, nil)
			}, 20404, 404},
			{"closed conversation: no agent could join it", func() error {
				return create(map[string]any{"type": "sms", "initiated_by": "customer",
					"properties": map[string]any{"media_channel_sid": closed}}, nil)
			}, 50377, 400},
			{"unknown workspace", func() error {
				return create(bound, map[string]any{"properties": map[string]any{"workspace_sid": "WS00000000000000000000000000000000"}})
			}, 20404, 404},
			{"unknown interaction fetched", func() error {
				_, err := e.fx.FetchInteraction("KD00000000000000000000000000000000")
				return err
			}, 20404, 404},
			{"unknown interaction updated", func() error {
				_, err := e.fx.UpdateInteraction("KD00000000000000000000000000000000", (&flexv1.UpdateInteractionParams{}).SetWebhookTtid("x"))
				return err
			}, 20404, 404},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { wantTwilioError(t, tc.call(), tc.code, tc.status) })
		}
		// Malformed JSON never gets past twilio-go, so send it raw.
		status, body := e.ixPost("/v1/Interactions", url.Values{"Channel": {`{"type":"sms",`}})
		wantIxError(t, status, body, 20001, 400)

		if ts := e.tasks(); len(ts) != 0 {
			t.Fatalf("refused interactions left %d tasks", len(ts))
		}
		// Nothing was half-made: the conversation can still be bound.
		e.bind(convSid, nil)
	})
}

func TestAgentInitiatedInteractionCreatesTheConversationAndRoutesToTheNamedWorker(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "") // idle longest: a queue would pick her
		bo := e.worker("bo", "")
		q := e.queue("Outbound", "1 == 1")
		in, err := e.fx.CreateInteraction((&flexv1.CreateInteractionParams{}).
			SetChannel(map[string]any{"type": "sms", "initiated_by": "agent",
				"participants": []any{map[string]any{"address": "+15557770001", "proxy_address": ixProxy}}}).
			SetRouting(map[string]any{"properties": map[string]any{"workspace_sid": e.ws, "queue_sid": q, "worker_sid": bo,
				"task_channel_unique_name": "sms", "attributes": map[string]any{"from": ixProxy}}}))
		if err != nil {
			t.Fatal(err)
		}
		props, _ := ixObject(in.Routing)["properties"].(map[string]any)
		attrs, _ := props["attributes"].(map[string]any)
		convSid, _ := attrs["conversationSid"].(string)
		if !strings.HasPrefix(convSid, "CH") || attrs["from"] != ixProxy || attrs["customerAddress"] != "+15557770001" {
			t.Fatalf("routing.properties.attributes = %v", attrs)
		}
		// Flex UI tells outbound work by these attributes.
		if cs, _ := attrs["conversations"].(map[string]any); attrs["direction"] != "outbound" || attrs["initiatedBy"] != "agent" ||
			cs["initiated_by"] != "agent" {
			t.Fatalf("an agent-initiated task has direction %v, initiatedBy %v, conversations %v; want outbound, agent, agent",
				attrs["direction"], attrs["initiatedBy"], attrs["conversations"])
		}

		// The conversation exists with the customer's SMS binding.
		members := e.members(convSid)
		cust, ok := members["+15557770001"]
		if !ok || len(members) != 1 {
			t.Fatalf("conversation participants = %v, want the SMS customer alone", members)
		}
		if b := ixObject(cust.MessagingBinding); b["proxy_address"] != ixProxy {
			t.Fatalf("customer binding = %v", b)
		}
		if e.convState(convSid) != "active" {
			t.Fatalf("conversation is %s", e.convState(convSid))
		}
		chs, err := e.fx.ListInteractionChannel(*in.Sid, nil)
		if err != nil || len(chs) != 1 || *chs[0].Type != "sms" || *chs[0].Status != "active" {
			t.Fatalf("channels = %v (%v)", chs, err)
		}

		// The task goes to bo, the named worker, not to the queue's first pick.
		e.settle()
		if len(e.offers(ana)) != 0 {
			t.Fatal("ana was offered an agent-initiated task meant for bo")
		}
		r := e.offer(bo)
		if *r.TaskSid != props["sid"] {
			t.Fatalf("bo was offered %s, want %v", *r.TaskSid, props["sid"])
		}
		e.accept(r)
		if _, ok := e.members(convSid)["bo"]; !ok {
			t.Fatal("bo did not join the conversation he started")
		}
	})
}

func TestInteractionChannelsListAcrossPagesAndFetch(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		convSid := e.customerConversation(ixCustomer)
		in, ch := e.bind(convSid, nil)
		_, otherCh := e.bind(e.customerConversation("+15551230002"), nil)
		// An interaction has one channel through this API; add two more
		// beside it so the list has pages to walk.
		for i := range 2 {
			at := time.Now().UTC().Add(time.Duration(i+1) * time.Second)
			e.must(s.DB.Gorm.Create(&interactions.Channel{Sid: fmt.Sprintf("UO%032d", i+1), InteractionSid: *in.Sid, Type: "chat",
				Status: interactions.ChannelClosed, MediaChannelSid: convSid, DateCreated: at, DateUpdated: at}).Error)
		}
		all, err := e.fx.ListInteractionChannel(*in.Sid, (&flexv1.ListInteractionChannelParams{}).SetPageSize(2))
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || *all[0].Sid != ch {
			t.Fatalf("listed %d channels over pages of 2 (first %v), want 3 starting with %s", len(all), all, ch)
		}
		seen := map[string]bool{}
		for _, c := range all {
			if seen[*c.Sid] || *c.InteractionSid != *in.Sid || *c.Sid == otherCh {
				t.Fatalf("channel %s listed twice or from another interaction", *c.Sid)
			}
			seen[*c.Sid] = true
		}
		page, err := e.fx.PageInteractionChannel(*in.Sid, (&flexv1.ListInteractionChannelParams{}).SetPageSize(2), "", "")
		if err != nil || len(page.Channels) != 2 || page.Meta.NextPageUrl == nil || page.Meta.Key != "channels" || page.Meta.PageSize != 2 {
			t.Fatalf("first page = %+v (%v)", page, err)
		}

		got, err := e.fx.FetchInteractionChannel(*in.Sid, ch)
		if err != nil {
			t.Fatal(err)
		}
		u := s.URL + "/v1/Interactions/" + *in.Sid + "/Channels/" + ch
		if *got.Sid != ch || *got.Type != "sms" || *got.Status != "active" || *got.Url != u || got.ErrorCode != nil ||
			(*got.Links)["participants"] != u+"/Participants" || (*got.Links)["invites"] != u+"/Invites" || (*got.Links)["transfers"] != u+"/Transfers" {
			t.Fatalf("fetched = %+v", got)
		}
		_, err = e.fx.FetchInteractionChannel(*in.Sid, "UO00000000000000000000000000000099")
		wantTwilioError(t, err, 20404, 404)
		_, err = e.fx.FetchInteractionChannel(*in.Sid, otherCh) // a channel, but of another interaction
		wantTwilioError(t, err, 20404, 404)
		_, err = e.fx.ListInteractionChannel("KD00000000000000000000000000000000", nil)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestInteractionParticipantsJoinTheConversationByAddressOrIdentity(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		convSid := e.customerConversation(ixCustomer)
		in, ch := e.bind(convSid, nil)
		ix := *in.Sid

		second, err := e.fx.CreateInteractionChannelParticipant(ix, ch, (&flexv1.CreateInteractionChannelParticipantParams{}).
			SetType("customer").SetMediaProperties(map[string]any{"address": "+15551230002", "proxy_address": ixProxy}))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(*second.Sid, "UT") || *second.Type != "customer" || *second.ChannelSid != ch || *second.InteractionSid != ix ||
			*second.Url != s.URL+"/v1/Interactions/"+ix+"/Channels/"+ch+"/Participants/"+*second.Sid {
			t.Fatalf("created = %+v", second)
		}
		expert, err := e.fx.CreateInteractionChannelParticipant(ix, ch, (&flexv1.CreateInteractionChannelParticipantParams{}).
			SetType("external").SetMediaProperties(map[string]any{"identity": "expert-eve", "name": "Eve"}))
		if err != nil || *expert.Type != "external" {
			t.Fatalf("external = %+v (%v)", expert, err)
		}
		members := e.members(convSid)
		if b := ixObject(members["+15551230002"].MessagingBinding); b["proxy_address"] != ixProxy {
			t.Fatalf("the SMS participant is not in the conversation: %v", members)
		}
		if _, ok := members["expert-eve"]; !ok || len(members) != 3 {
			t.Fatalf("conversation participants = %v, want the customer, the second number and expert-eve", members)
		}

		bad := []struct {
			name  string
			typ   string
			media any
		}{
			{"a type Flex does not know", "boss", map[string]any{"identity": "x"}},
			{"no media properties", "customer", nil},
			{"media properties with neither address nor identity", "external", map[string]any{"name": "Nobody"}},
			{"media properties that are not an object", "customer", "+15551230003"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				p := (&flexv1.CreateInteractionChannelParticipantParams{}).SetType(tc.typ)
				if tc.media != nil {
					p.SetMediaProperties(tc.media)
				}
				_, err := e.fx.CreateInteractionChannelParticipant(ix, ch, p)
				wantTwilioError(t, err, 20001, 400)
			})
		}
		_, err = e.fx.CreateInteractionChannelParticipant(ix, "UO00000000000000000000000000000099", (&flexv1.CreateInteractionChannelParticipantParams{}).
			SetType("external").SetMediaProperties(map[string]any{"identity": "x"}))
		wantTwilioError(t, err, 20404, 404)
		if got := e.members(convSid); len(got) != 3 {
			t.Fatalf("refused participants changed the conversation: %v", got)
		}

		// The list has the customer bound with the interaction and both new ones, in order, over pages.
		all, err := e.fx.ListInteractionChannelParticipant(ix, ch, (&flexv1.ListInteractionChannelParticipantParams{}).SetPageSize(2))
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || *all[0].Type != "customer" || *all[1].Sid != *second.Sid || *all[2].Sid != *expert.Sid {
			t.Fatalf("participants = %d %v", len(all), all)
		}
		page, err := e.fx.PageInteractionChannelParticipant(ix, ch, (&flexv1.ListInteractionChannelParticipantParams{}).SetPageSize(2), "", "")
		if err != nil || len(page.Participants) != 2 || page.Meta.NextPageUrl == nil || page.Meta.Key != "participants" {
			t.Fatalf("first page = %+v (%v)", page, err)
		}

		// Closing the external participant takes them out of the conversation.
		if _, err := e.fx.UpdateInteractionChannelParticipant(ix, ch, *expert.Sid,
			(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed")); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.members(convSid)["expert-eve"]; ok {
			t.Fatal("a closed external participant is still in the conversation")
		}
	})
}

func TestClosingAnInteractionAgentParticipantWrapsThenCompletesTheirTask(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		convSid, ix, ch, taskSid := e.workingAgent(ana)
		if _, ok := e.members(convSid)["ana"]; !ok {
			t.Fatal("ana did not join on accepting")
		}
		agent := e.agentOf(ix, ch, ana)
		if rp := ixObject(agent.RoutingProperties); rp["task_sid"] != taskSid || !strings.HasPrefix(fmt.Sprint(rp["reservation_sid"]), "WR") {
			t.Fatalf("agent routing_properties = %v", rp)
		}
		update := func(status string) (*flexv1.FlexV1InteractionChannelParticipant, error) {
			return e.fx.UpdateInteractionChannelParticipant(ix, ch, *agent.Sid, (&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus(status))
		}
		_, err := update("gone")
		wantTwilioError(t, err, 20001, 400)
		_, err = e.fx.UpdateInteractionChannelParticipant(ix, ch, "UT00000000000000000000000000000000",
			(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
		wantTwilioError(t, err, 20404, 404)

		up, err := update("wrapup")
		if err != nil || *up.Sid != *agent.Sid {
			t.Fatalf("wrapup = %+v (%v)", up, err)
		}
		if got := e.taskStatus(taskSid); got != "wrapping" {
			t.Fatalf("after wrapup the task is %s, want wrapping", got)
		}
		if _, ok := e.members(convSid)["ana"]; ok {
			t.Fatal("a wrapping agent is still in the conversation")
		}
		if _, err := update("closed"); err != nil {
			t.Fatal(err)
		}
		if got := e.taskStatus(taskSid); got != "completed" {
			t.Fatalf("after closed the task is %s, want completed", got)
		}
		if e.convState(convSid) != "inactive" || e.channelStatus(ix, ch) != "inactive" {
			t.Fatalf("with nobody working it the conversation is %s and the channel %s, want both inactive",
				e.convState(convSid), e.channelStatus(ix, ch))
		}
		if _, ok := e.members(convSid)[ixCustomer]; !ok {
			t.Fatal("the customer left with the agent")
		}
	})
}

func TestAnInteractionInviteRoutesToTheNamedWorkerAndFlexAcceptsIt(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", "")
		cy := e.worker("cy", "")
		everyone := e.queue("Everyone else", "1 == 1")
		convSid, ix, ch, first := e.workingAgent(ana)

		invite := func(worker string) *flexv1.FlexV1InteractionChannelInvite {
			t.Helper()
			inv, err := e.fx.CreateInteractionChannelInvite(ix, ch, (&flexv1.CreateInteractionChannelInviteParams{}).
				SetRouting(map[string]any{"properties": map[string]any{"workspace_sid": e.ws, "queue_sid": everyone, "worker_sid": worker}}))
			if err != nil {
				t.Fatal(err)
			}
			return inv
		}
		inv := invite(bo)
		taskSid := inviteTask(inv)
		if !strings.HasPrefix(*inv.Sid, "KG") || *inv.ChannelSid != ch || *inv.InteractionSid != ix || !strings.HasPrefix(taskSid, "WT") ||
			*inv.Url != s.URL+"/v1/Interactions/"+ix+"/Channels/"+ch+"/Invites/"+*inv.Sid {
			t.Fatalf("invite = %+v", inv)
		}
		if attrs := e.taskAttrs(taskSid); attrs["flexChannelInviteSid"] != *inv.Sid || attrs["conversationSid"] != convSid {
			t.Fatalf("invite task attributes = %v", attrs)
		}
		e.settle()
		r := e.offer(bo)
		if *r.TaskSid != taskSid || len(e.offers(cy)) != 0 {
			t.Fatalf("bo was offered %s, want the invite's task %s, and cy nothing", *r.TaskSid, taskSid)
		}

		// Flex UI accepts through the invite, form-encoded.
		status, body := e.answerInvite(ix, ch, *inv.Sid, "accept", *r.Sid, false)
		if status != 200 || body["sid"] != *inv.Sid {
			t.Fatalf("accept = %d %v", status, body)
		}
		members := e.members(convSid)
		if _, ok := members["bo"]; !ok {
			t.Fatalf("bo did not join on accepting the invite: %v", members)
		}
		if _, ok := members["ana"]; !ok {
			t.Fatal("ana left when bo accepted an invite")
		}
		if e.taskStatus(taskSid) != "assigned" || e.taskStatus(first) != "assigned" {
			t.Fatalf("tasks: invite %s, first %s; want both assigned", e.taskStatus(taskSid), e.taskStatus(first))
		}
		// Accepting twice is a conflict and changes nothing.
		status, body = e.answerInvite(ix, ch, *inv.Sid, "accept", *r.Sid, false)
		wantIxError(t, status, body, 20001, 409)

		// And as a JSON body.
		inv2 := invite(cy)
		e.settle()
		r2 := e.offer(cy)
		status, body = e.answerInvite(ix, ch, *inv2.Sid, "accept", *r2.Sid, true)
		if status != 200 || body["sid"] != *inv2.Sid {
			t.Fatalf("JSON accept = %d %v", status, body)
		}
		if _, ok := e.members(convSid)["cy"]; !ok {
			t.Fatal("cy did not join on accepting with a JSON body")
		}
		if e.agentOf(ix, ch, cy).Sid == nil {
			t.Fatal("cy has no agent participant")
		}

		// The channel lists the interaction's own invite and both new ones.
		invs, err := e.fx.ListInteractionChannelInvite(ix, ch, (&flexv1.ListInteractionChannelInviteParams{}).SetPageSize(2))
		if err != nil {
			t.Fatal(err)
		}
		if len(invs) != 3 || inviteTask(&invs[0]) != first || *invs[1].Sid != *inv.Sid || *invs[2].Sid != *inv2.Sid {
			t.Fatalf("invites = %d %v", len(invs), invs)
		}
		_, err = e.fx.CreateInteractionChannelInvite(ix, ch, nil)
		wantTwilioError(t, err, 20001, 400)
		_, err = e.fx.CreateInteractionChannelInvite(ix, "UO00000000000000000000000000000099", (&flexv1.CreateInteractionChannelInviteParams{}).
			SetRouting(map[string]any{"properties": map[string]any{"worker_sid": bo}}))
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestDecliningAnInteractionInviteCancelsAKnownWorkersTaskAndReoffersAQueues(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", `"team":"billing"`)
		cy := e.worker("cy", `"team":"billing"`)
		billing := e.queue("Billing", "team == 'billing'")
		convSid, ix, ch, _ := e.workingAgent(ana)

		// A known worker declines: nobody else may take the task, so it is canceled.
		known, err := e.fx.CreateInteractionChannelInvite(ix, ch, (&flexv1.CreateInteractionChannelInviteParams{}).
			SetRouting(map[string]any{"properties": map[string]any{"workspace_sid": e.ws, "worker_sid": bo}}))
		if err != nil {
			t.Fatal(err)
		}
		e.settle()
		r := e.offer(bo)
		status, body := e.answerInvite(ix, ch, *known.Sid, "decline", *r.Sid, false)
		if status != 200 {
			t.Fatalf("decline = %d %v", status, body)
		}
		e.settle()
		if got := e.taskStatus(inviteTask(known)); got != "canceled" {
			t.Fatalf("a declined known-worker invite's task is %s, want canceled", got)
		}
		if len(e.offers(cy)) != 0 {
			t.Fatal("a task for bo was offered to cy after bo declined")
		}
		if _, ok := e.members(convSid)["bo"]; ok || e.convState(convSid) != "active" {
			t.Fatalf("after the decline: bo joined=%v, conversation %s; want bo out and the conversation active", ok, e.convState(convSid))
		}

		// A queue's offer declined goes to the next worker of the queue.
		viaQueue, err := e.fx.CreateInteractionChannelInvite(ix, ch, (&flexv1.CreateInteractionChannelInviteParams{}).
			SetRouting(map[string]any{"properties": map[string]any{"workspace_sid": e.ws, "queue_sid": billing}}))
		if err != nil {
			t.Fatal(err)
		}
		e.settle()
		first, second := bo, cy
		if len(e.offers(bo)) == 0 {
			first, second = cy, bo
		}
		r = e.offer(first)
		if *r.TaskSid != inviteTask(viaQueue) {
			t.Fatalf("offer %s is not the queue invite's task %s", *r.TaskSid, inviteTask(viaQueue))
		}
		if task := e.task(inviteTask(viaQueue)); *task.TaskQueueSid != billing {
			t.Fatalf("the queue invite's task is in %s, want %s", *task.TaskQueueSid, billing)
		}
		status, body = e.answerInvite(ix, ch, *viaQueue.Sid, "decline", *r.Sid, true)
		if status != 200 {
			t.Fatalf("JSON decline = %d %v", status, body)
		}
		e.settle()
		again := e.offer(second)
		if *again.TaskSid != inviteTask(viaQueue) || e.taskStatus(inviteTask(viaQueue)) != "reserved" {
			t.Fatalf("after the decline the task is %s, offered as %s", e.taskStatus(inviteTask(viaQueue)), *again.TaskSid)
		}

		// Answers that name the wrong reservation or action are refused.
		mine := e.agentOf(ix, ch, ana)
		otherRes := fmt.Sprint(ixObject(mine.RoutingProperties)["reservation_sid"]) // ana's, of the first task
		status, body = e.answerInvite(ix, ch, *viaQueue.Sid, "accept", otherRes, false)
		wantIxError(t, status, body, 20001, 400)
		status, body = e.answerInvite(ix, ch, *viaQueue.Sid, "maybe", *again.Sid, false)
		wantIxError(t, status, body, 20001, 400)
		status, body = e.ixPost("/v1/Interactions/"+ix+"/Channels/"+ch+"/Invites/"+*viaQueue.Sid,
			url.Values{"action": {"accept"}, "routing": {`{"type":"taskrouter"}`}})
		wantIxError(t, status, body, 20001, 400)
		status, body = e.answerInvite(ix, ch, "KG00000000000000000000000000000000", "accept", *again.Sid, false)
		wantIxError(t, status, body, 20404, 404)
		if len(e.offers(second)) != 1 || e.taskStatus(inviteTask(viaQueue)) != "reserved" {
			t.Fatal("a refused answer changed the offer")
		}
	})
}

func TestAWarmInteractionTransferKeepsBothAgentsInTheConversation(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", "")
		convSid, ix, ch, first := e.workingAgent(ana)
		from := e.agentOf(ix, ch, ana)
		tf, err := e.fx.CreateInteractionTransfer(ix, ch, (&flexv1.CreateInteractionTransferParams{}).
			SetBody(map[string]any{"from": *from.Sid, "to": bo, "type": "warm", "note": "needs a second opinion"}))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(*tf.Sid, "UX") || *tf.Type != "warm" || *tf.Status != "active" || *tf.From != *from.Sid || *tf.To != bo ||
			*tf.AccountSid != s.AccountSid || *tf.ChannelSid != ch || *tf.InteractionSid != ix ||
			*tf.Url != s.URL+"/v1/Interactions/"+ix+"/Channels/"+ch+"/Transfers/"+*tf.Sid {
			t.Fatalf("transfer = %+v", tf)
		}
		if got, err := e.fx.FetchInteractionTransfer(ix, ch, *tf.Sid); err != nil || *got.Status != "active" {
			t.Fatalf("fetched before the accept = %+v (%v)", got, err)
		}
		e.settle()
		r := e.offer(bo)
		if attrs := e.taskAttrs(*r.TaskSid); attrs["transferNote"] != "needs a second opinion" || attrs["transferType"] != "warm" ||
			attrs["conversationSid"] != convSid || attrs["transferringTaskSid"] != first {
			t.Fatalf("transfer task attributes = %v", attrs)
		}
		e.accept(r)
		members := e.members(convSid)
		_, anaIn := members["ana"]
		_, boIn := members["bo"]
		if !anaIn || !boIn {
			t.Fatalf("after a warm transfer the conversation has %v, want ana and bo", members)
		}
		if e.taskStatus(first) != "assigned" || e.taskStatus(*r.TaskSid) != "assigned" {
			t.Fatalf("tasks: ana's %s, bo's %s; want both assigned", e.taskStatus(first), e.taskStatus(*r.TaskSid))
		}
		if got, _ := e.fx.FetchInteractionTransfer(ix, ch, *tf.Sid); *got.Status != "completed" {
			t.Fatalf("transfer after the accept is %s, want completed", *got.Status)
		}
	})
}

func TestAnInteractionTransferToAQueueOffersItsWorkersAndTheFirstAgentLeaves(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", `"team":"billing"`)
		billing := e.queue("Billing", "team == 'billing'")
		convSid, ix, ch, first := e.workingAgent(ana)
		from := e.agentOf(ix, ch, ana)
		tf, err := e.fx.CreateInteractionTransfer(ix, ch, (&flexv1.CreateInteractionTransferParams{}).
			SetBody(map[string]any{"from": *from.Sid, "to": billing}))
		if err != nil {
			t.Fatal(err)
		}
		if *tf.Type != "cold" || *tf.To != billing {
			t.Fatalf("transfer = %+v, want a cold one to the queue", tf)
		}
		e.settle()
		r := e.offer(bo)
		if task := e.task(*r.TaskSid); *task.TaskQueueSid != billing || e.taskAttrs(*r.TaskSid)["transferTargetType"] != "queue" {
			t.Fatalf("the transfer task is in %s with %s", *task.TaskQueueSid, *task.Attributes)
		}
		e.accept(r)
		members := e.members(convSid)
		if _, ok := members["ana"]; ok {
			t.Fatalf("ana is still in the conversation after a cold transfer: %v", members)
		}
		if _, ok := members["bo"]; !ok {
			t.Fatalf("bo did not join: %v", members)
		}
		if e.taskStatus(first) != "completed" {
			t.Fatalf("ana's task is %s after the transfer, want completed", e.taskStatus(first))
		}
		if got, _ := e.fx.FetchInteractionTransfer(ix, ch, *tf.Sid); *got.Status != "completed" {
			t.Fatalf("transfer is %s, want completed", *got.Status)
		}
	})
}

func TestAnInteractionTransferMustComeFromAnActiveAgent(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", "")
		_, ix, ch, _ := e.workingAgent(ana)
		agent := *e.agentOf(ix, ch, ana).Sid
		transfer := func(body map[string]any) error {
			_, err := e.fx.CreateInteractionTransfer(ix, ch, (&flexv1.CreateInteractionTransferParams{}).SetBody(body))
			return err
		}
		cases := []struct {
			name         string
			call         func() error
			code, status int
		}{
			{"from the customer", func() error { return transfer(map[string]any{"from": e.customerUT(ix, ch), "to": bo}) }, 20001, 400},
			{"from nobody", func() error { return transfer(map[string]any{"from": "UT00000000000000000000000000000000", "to": bo}) }, 20001, 400},
			{"to a conversation", func() error {
				return transfer(map[string]any{"from": agent, "to": "CH00000000000000000000000000000000"})
			}, 20001, 400},
			{"of an unknown type", func() error { return transfer(map[string]any{"from": agent, "to": bo, "type": "lukewarm"}) }, 20001, 400},
			{"on an unknown channel", func() error {
				_, err := e.fx.CreateInteractionTransfer(ix, "UO00000000000000000000000000000099", (&flexv1.CreateInteractionTransferParams{}).
					SetBody(map[string]any{"from": agent, "to": bo}))
				return err
			}, 20404, 404},
			{"an unknown transfer", func() error {
				_, err := e.fx.FetchInteractionTransfer(ix, ch, "UX00000000000000000000000000000000")
				return err
			}, 20404, 404},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { wantTwilioError(t, tc.call(), tc.code, tc.status) })
		}
		status, body := e.ixPost("/v1/Interactions/"+ix+"/Channels/"+ch+"/Transfers", `{"from":`)
		wantIxError(t, status, body, 20001, 400)
		if ts := e.tasks(); len(ts) != 1 {
			t.Fatalf("refused transfers left %d tasks, want only ana's", len(ts))
		}

		// Once ana has left, she can transfer nothing.
		if _, err := e.fx.UpdateInteractionChannelParticipant(ix, ch, agent, (&flexv1.UpdateInteractionChannelParticipantParams{}).
			SetStatus("closed")); err != nil {
			t.Fatal(err)
		}
		wantTwilioError(t, transfer(map[string]any{"from": agent, "to": bo}), 20001, 400)
	})
}

func TestAnInteractionTransferFailsWhenTheTargetDeclinesAndTheFirstAgentStays(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", "")
		convSid, ix, ch, first := e.workingAgent(ana)
		tf, err := e.fx.CreateInteractionTransfer(ix, ch, (&flexv1.CreateInteractionTransferParams{}).
			SetBody(map[string]any{"from": *e.agentOf(ix, ch, ana).Sid, "to": bo, "type": "cold"}))
		if err != nil {
			t.Fatal(err)
		}
		e.settle()
		r := e.offer(bo)
		if _, err := e.trc.UpdateWorkerReservation(e.ws, bo, *r.Sid, (&tr.UpdateWorkerReservationParams{}).SetReservationStatus("rejected")); err != nil {
			t.Fatal(err)
		}
		e.settle()
		if got := e.taskStatus(*r.TaskSid); got != "canceled" {
			t.Fatalf("the declined transfer's task is %s, want canceled", got)
		}
		got, err := e.fx.FetchInteractionTransfer(ix, ch, *tf.Sid)
		if err != nil || *got.Status != "failed" {
			t.Fatalf("transfer = %+v (%v), want failed", got, err)
		}
		if _, ok := e.members(convSid)["ana"]; !ok || e.taskStatus(first) != "assigned" {
			t.Fatalf("after a failed transfer ana in conversation=%v, her task %s; want her still working it", ok, e.taskStatus(first))
		}
		// A failed transfer cannot be canceled.
		_, err = e.fx.UpdateInteractionTransfer(ix, ch, *tf.Sid, (&flexv1.UpdateInteractionTransferParams{}).
			SetBody(map[string]any{"status": "canceled"}))
		wantTwilioError(t, err, 20001, 409)
	})
}

func TestCancelingAPendingInteractionTransferCancelsItsTask(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", "")
		convSid, ix, ch, first := e.workingAgent(ana)
		tf, err := e.fx.CreateInteractionTransfer(ix, ch, (&flexv1.CreateInteractionTransferParams{}).
			SetBody(map[string]any{"from": *e.agentOf(ix, ch, ana).Sid, "to": bo}))
		if err != nil {
			t.Fatal(err)
		}
		e.settle()
		r := e.offer(bo)

		_, err = e.fx.UpdateInteractionTransfer(ix, ch, *tf.Sid, (&flexv1.UpdateInteractionTransferParams{}).
			SetBody(map[string]any{"status": "completed"}))
		wantTwilioError(t, err, 20001, 400)
		got, err := e.fx.UpdateInteractionTransfer(ix, ch, *tf.Sid, (&flexv1.UpdateInteractionTransferParams{}).
			SetBody(map[string]any{"status": "canceled"}))
		if err != nil || *got.Status != "failed" {
			t.Fatalf("canceled transfer = %+v (%v), want it to read failed", got, err)
		}
		if st := e.taskStatus(*r.TaskSid); st != "canceled" {
			t.Fatalf("the canceled transfer's task is %s, want canceled", st)
		}
		if len(e.offers(bo)) != 0 {
			t.Fatal("bo still has the offer of a canceled transfer")
		}
		if fetched, _ := e.fx.FetchInteractionTransfer(ix, ch, *tf.Sid); *fetched.Status != "failed" {
			t.Fatalf("fetched after the cancel = %s", *fetched.Status)
		}
		if _, ok := e.members(convSid)["ana"]; !ok || e.taskStatus(first) != "assigned" {
			t.Fatal("canceling the transfer disturbed ana")
		}
		_, err = e.fx.UpdateInteractionTransfer(ix, ch, *tf.Sid, (&flexv1.UpdateInteractionTransferParams{}).
			SetBody(map[string]any{"status": "canceled"}))
		wantTwilioError(t, err, 20001, 409)
	})
}

func TestClosingAnInteractionChannelWithoutRoutingWrapsTheAgentsTask(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", "")
		_, ix, ch, taskSid := e.workingAgent(ana)
		got, err := e.fx.UpdateInteractionChannel(ix, ch, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed"))
		if err != nil || *got.Status != "closed" {
			t.Fatalf("closed = %+v (%v)", got, err)
		}
		if st := e.taskStatus(taskSid); st != "wrapping" {
			t.Fatalf("after closing the channel the task is %s, want wrapping", st)
		}
		if e.channelStatus(ix, ch) != "closed" {
			t.Fatalf("channel is %s", e.channelStatus(ix, ch))
		}
		// A closed channel is final.
		_, err = e.fx.UpdateInteractionChannel(ix, ch, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed"))
		wantTwilioError(t, err, 20001, 409)
		_, err = e.fx.UpdateInteractionChannel(ix, ch, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("inactive").
			SetRouting(map[string]any{"status": "closed"}))
		wantTwilioError(t, err, 20001, 409)
		_, err = e.fx.CreateInteractionChannelInvite(ix, ch, (&flexv1.CreateInteractionChannelInviteParams{}).
			SetRouting(map[string]any{"properties": map[string]any{"worker_sid": bo}}))
		wantTwilioError(t, err, 20001, 409)
		_, err = e.fx.CreateInteractionChannelParticipant(ix, ch, (&flexv1.CreateInteractionChannelParticipantParams{}).
			SetType("external").SetMediaProperties(map[string]any{"identity": "late"}))
		wantTwilioError(t, err, 20001, 409)
		if st := e.taskStatus(taskSid); st != "wrapping" {
			t.Fatalf("refused calls moved the task to %s", st)
		}
		// The wrapping agent completes through their participant.
		if _, err := e.fx.UpdateInteractionChannelParticipant(ix, ch, *e.agentOf(ix, ch, ana).Sid,
			(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed")); err != nil {
			t.Fatal(err)
		}
		if st := e.taskStatus(taskSid); st != "completed" {
			t.Fatalf("after the agent closed, the task of a closed channel is %s, want completed", st)
		}
	})
}

func TestClosingAnInteractionChannelWithRoutingClosedCompletesEveryAgentAndWithdrawsInvites(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		bo := e.worker("bo", "")
		cy := e.worker("cy", "")
		convSid, ix, ch, first := e.workingAgent(ana)
		if _, err := e.fx.CreateInteractionTransfer(ix, ch, (&flexv1.CreateInteractionTransferParams{}).
			SetBody(map[string]any{"from": *e.agentOf(ix, ch, ana).Sid, "to": bo, "type": "warm"})); err != nil {
			t.Fatal(err)
		}
		e.settle()
		boOffer := e.offer(bo)
		e.accept(boOffer)
		pending, err := e.fx.CreateInteractionChannelInvite(ix, ch, (&flexv1.CreateInteractionChannelInviteParams{}).
			SetRouting(map[string]any{"properties": map[string]any{"workspace_sid": e.ws, "worker_sid": cy}}))
		if err != nil {
			t.Fatal(err)
		}
		e.settle()
		cyOffer := e.offer(cy)

		if _, err := e.fx.UpdateInteractionChannel(ix, ch, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed").
			SetRouting(map[string]any{"status": "closed"})); err != nil {
			t.Fatal(err)
		}
		if e.taskStatus(first) != "completed" || e.taskStatus(*boOffer.TaskSid) != "completed" {
			t.Fatalf("tasks: ana's %s, bo's %s; want both completed", e.taskStatus(first), e.taskStatus(*boOffer.TaskSid))
		}
		if st := e.taskStatus(inviteTask(pending)); st != "canceled" {
			t.Fatalf("the pending invite's task is %s, want canceled", st)
		}
		if r, err := e.trc.FetchWorkerReservation(e.ws, cy, *cyOffer.Sid); err != nil || *r.ReservationStatus == "pending" {
			t.Fatalf("cy's offer is still pending after the channel closed (%v)", err)
		}
		members := e.members(convSid)
		_, anaIn := members["ana"]
		_, boIn := members["bo"]
		if anaIn || boIn || e.channelStatus(ix, ch) != "closed" {
			t.Fatalf("after closing: ana in %v, bo in %v, channel %s", anaIn, boIn, e.channelStatus(ix, ch))
		}
		if _, ok := members[ixCustomer]; !ok {
			t.Fatal("closing the channel removed the customer")
		}
	})
}

func TestParkingAnInteractionChannelNeedsRoutingClosed(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		_, ix, ch, taskSid := e.workingAgent(ana)
		update := func(status string, routing any) error {
			p := (&flexv1.UpdateInteractionChannelParams{}).SetStatus(status)
			if routing != nil {
				p.SetRouting(routing)
			}
			_, err := e.fx.UpdateInteractionChannel(ix, ch, p)
			return err
		}
		wantTwilioError(t, update("inactive", nil), 20001, 400)
		wantTwilioError(t, update("inactive", map[string]any{"status": "later"}), 20001, 400)
		wantTwilioError(t, update("paused", map[string]any{"status": "closed"}), 20001, 400)
		wantTwilioError(t, update("closed", "wrapup"), 20001, 400)
		_, err := e.fx.UpdateInteractionChannel(ix, ch, &flexv1.UpdateInteractionChannelParams{})
		wantTwilioError(t, err, 20001, 400)
		_, err = e.fx.UpdateInteractionChannel(ix, "UO00000000000000000000000000000099", (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed"))
		wantTwilioError(t, err, 20404, 404)
		if e.channelStatus(ix, ch) != "active" || e.taskStatus(taskSid) != "assigned" {
			t.Fatal("a refused channel update changed the channel or the task")
		}
	})
}

func TestAParkedInteractionResumesOnTheSameInteractionWhenTheCustomerWrites(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		convSid, ix, ch, taskSid := e.workingAgent(ana)
		got, err := e.fx.UpdateInteractionChannel(ix, ch, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("inactive").
			SetRouting(map[string]any{"status": "closed"}))
		if err != nil || *got.Status != "inactive" {
			t.Fatalf("parked = %+v (%v)", got, err)
		}
		if st := e.taskStatus(taskSid); st != "completed" {
			t.Fatalf("parking left the task %s, want completed", st)
		}
		if _, ok := e.members(convSid)["ana"]; ok {
			t.Fatal("the agent stayed in a parked conversation")
		}
		if e.convState(convSid) != "inactive" {
			t.Fatalf("a parked conversation is %s, want inactive", e.convState(convSid))
		}

		// Nothing happens until the customer writes; then there is new work on the same interaction and channel.
		e.settle()
		if len(e.tasks()) != 1 {
			t.Fatal("a parked interaction made work on its own")
		}
		e.say(convSid, ixCustomer, "I'm back")
		e.settle()
		r := e.offer(ana)
		if *r.TaskSid == taskSid {
			t.Fatal("the customer's return reused the completed task")
		}
		attrs := e.taskAttrs(*r.TaskSid)
		if attrs["flexInteractionSid"] != ix || attrs["flexInteractionChannelSid"] != ch || attrs["conversationSid"] != convSid {
			t.Fatalf("the new task belongs to %v / %v, want interaction %s channel %s", attrs["flexInteractionSid"],
				attrs["flexInteractionChannelSid"], ix, ch)
		}
		if len(e.tasks()) != 2 || e.channelStatus(ix, ch) != "active" || e.convState(convSid) != "active" {
			t.Fatalf("tasks %d, channel %s, conversation %s; want 2, active, active", len(e.tasks()), e.channelStatus(ix, ch), e.convState(convSid))
		}
		e.accept(r)
		if _, ok := e.members(convSid)["ana"]; !ok {
			t.Fatal("ana did not rejoin the resumed conversation")
		}
		// Still one interaction on the conversation.
		_, err = e.fx.CreateInteraction((&flexv1.CreateInteractionParams{}).
			SetChannel(map[string]any{"type": "sms", "initiated_by": "customer", "properties": map[string]any{"media_channel_sid": convSid}}))
		wantTwilioError(t, err, 20001, 409)
	})
}

func TestUnparkingAnInteractionWithAnInviteMakesTheChannelActiveUntilTheAgentLeaves(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		e := newIxEnv(t, s)
		ana := e.worker("ana", "")
		convSid, ix, ch, _ := e.workingAgent(ana)
		if _, err := e.fx.UpdateInteractionChannel(ix, ch, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("inactive").
			SetRouting(map[string]any{"status": "closed"})); err != nil {
			t.Fatal(err)
		}
		// Flex's park/unpark pattern: the agent asks for the parked conversation back with an invite.
		inv, err := e.fx.CreateInteractionChannelInvite(ix, ch, (&flexv1.CreateInteractionChannelInviteParams{}).
			SetRouting(map[string]any{"properties": map[string]any{"workspace_sid": e.ws, "worker_sid": ana}}))
		if err != nil {
			t.Fatal(err)
		}
		e.settle()
		r := e.offer(ana)
		if *r.TaskSid != inviteTask(inv) {
			t.Fatalf("ana was offered %s, want the unpark invite's task %s", *r.TaskSid, inviteTask(inv))
		}
		status, body := e.answerInvite(ix, ch, *inv.Sid, "accept", *r.Sid, true)
		if status != 200 {
			t.Fatalf("accept = %d %v", status, body)
		}
		if e.channelStatus(ix, ch) != "active" || e.convState(convSid) != "active" {
			t.Fatalf("an unparked channel is %s and its conversation %s, want both active", e.channelStatus(ix, ch), e.convState(convSid))
		}
		if _, ok := e.members(convSid)["ana"]; !ok {
			t.Fatal("ana did not rejoin the unparked conversation")
		}
		// Her leaving parks it again.
		if _, err := e.fx.UpdateInteractionChannelParticipant(ix, ch, *e.agentOf(ix, ch, ana).Sid,
			(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed")); err != nil {
			t.Fatal(err)
		}
		if e.taskStatus(inviteTask(inv)) != "completed" || e.channelStatus(ix, ch) != "inactive" || e.convState(convSid) != "inactive" {
			t.Fatalf("after ana left: task %s, channel %s, conversation %s; want completed, inactive, inactive",
				e.taskStatus(inviteTask(inv)), e.channelStatus(ix, ch), e.convState(convSid))
		}
	})
}
