package interactions_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// Regression: a customer message that arrives while the agent is wrapping up
// (left the conversation, task wrapping) makes no work: channelBusy counts
// the wrapping task. Nothing re-checks when the wrap-up completes, so the
// message is never routed to anybody.
func TestMessageDuringWrapUpIsRouted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ana := f.worker("ana")
		c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{
			Address: ptr("+15551230000"), ProxyAddress: ptr("+15559870000")})
		f.must(err)
		f.say(c.Sid, "+15551230000", "hello")
		f.settle()
		offer := f.pendingOffer(ana)
		_, _, err = f.tr.AcceptReservation(f.ctx, f.ws.Sid, offer.Sid)
		f.must(err)
		attrs := f.taskAttrs(offer.TaskSid)
		interaction, channel := attrs["flexInteractionSid"].(string), attrs["flexInteractionChannelSid"].(string)
		parts, _, err := f.svc.Participants(f.ctx, interaction, channel, 0, 50)
		f.must(err)
		var anaUT string
		for _, p := range parts {
			if p.Type == interactions.TypeAgent {
				anaUT = p.Sid
			}
		}
		_, err = f.svc.UpdateParticipant(f.ctx, interaction, channel, anaUT, interactions.ParticipantWrapup)
		f.must(err)

		f.say(c.Sid, "+15551230000", "wait, one more question!") // nobody is in the conversation now
		f.settle()
		_, err = f.svc.UpdateParticipant(f.ctx, interaction, channel, anaUT, interactions.ParticipantClosed)
		f.must(err)
		f.settle()

		var open int64
		f.must(d.Gorm.Model(&taskrouter.Task{}).Where("assignment_status IN ?",
			[]string{taskrouter.TaskPending, taskrouter.TaskReserved, taskrouter.TaskAssigned}).Count(&open).Error)
		if open == 0 {
			t.Fatal("the customer's message sent during wrap-up produced no task, before or after the wrap-up ended")
		}
	})
}

// barrierConv holds every ConversationTx until two callers arrived,
// so two CreateInteraction transactions are open at once.
type barrierConv struct {
	*conversations.Engine
	wg *sync.WaitGroup
}

func (b barrierConv) ConversationTx(tx *db.Tx, sid string) (conversations.Conversation, error) {
	c, err := b.Engine.ConversationTx(tx, sid)
	if err != nil {
		return c, err
	}
	b.wg.Done()
	b.wg.Wait()
	return c, nil
}

// Regression: invite() calls DefaultWorkspace on a pool connection of its own
// while its transaction holds another. With the pool nearly exhausted (the
// default pgxpool size is max(4, NumCPU); the LISTEN loop and the router's
// leadership each hold one for good), concurrent transactions each wait for
// a second connection that never frees: the node hangs (request contexts
// have no deadline).
func TestInvitesNeverWaitForASecondPoolConnection(t *testing.T) {
	base := dbtest.PostgresURL(t)
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{URL: base + "&pool_max_conns=2"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t, d)
	var wg sync.WaitGroup
	wg.Add(2)
	svc := interactions.New(d, barrierConv{fx.conv, &wg}, fx.tr)
	var convs []string
	for _, addr := range []string{"+15551230001", "+15551230002"} {
		c, err := fx.conv.CreateConversation(ctx, fx.service, conversations.ConversationParams{})
		fx.must(err)
		_, err = fx.conv.AddParticipant(ctx, fx.service, c.Sid, conversations.ParticipantParams{
			Address: ptr(addr), ProxyAddress: ptr("+15559870000")})
		fx.must(err)
		convs = append(convs, c.Sid)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	errc := make(chan error, 2)
	for _, cs := range convs {
		go func() {
			_, err := svc.CreateInteraction(cctx, `{"type":"sms","properties":{"media_channel_sid":"`+cs+`"}}`, "", "", "")
			errc <- err
		}()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Errorf("CreateInteraction: %v", err)
		}
	}
}

// Regression: when the conversation closes (its Closed timer, or the API) while
// its task waits, nothing withdraws the task; every accept is refused by the
// accept hook, so each offered agent times out and is moved to the timeout
// activity (Offline), one after another, until the task's TTL.
func TestTaskOfAClosedConversationIsWithdrawnNotOfferedOnAndOn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		now := time.Now().UTC().Add(2 * time.Second) // ahead of the service clock, so its jobs are due
		clock := func() time.Time { return now }
		f.tr.SetClock(clock)
		f.runner.Now = clock
		ana := f.worker("ana")
		c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{Identity: ptr("guest-9")})
		f.must(err)
		f.say(c.Sid, "guest-9", "hello")
		f.settle()
		offer := f.pendingOffer(ana)
		_, err = f.conv.UpdateConversation(f.ctx, f.service, c.Sid, conversations.ConversationParams{State: ptr("closed")})
		f.must(err)
		f.settle()
		if _, _, err := f.tr.AcceptReservation(f.ctx, f.ws.Sid, offer.Sid); err == nil {
			t.Fatal("accepted")
		}
		now = now.Add(130 * time.Second)
		f.settle()
		w, _ := f.tr.Worker(f.ctx, f.ws.Sid, ana.Sid)
		task, _ := f.tr.Task(f.ctx, f.ws.Sid, offer.TaskSid)
		if task.AssignmentStatus != taskrouter.TaskCanceled {
			t.Fatalf("the task of a closed conversation is %s and agent ana was moved to available=%v by its timeout",
				task.AssignmentStatus, w.Available)
		}
	})
}

// A burst of a customer's messages costs one routing job, not one each —
// at a thousand messages a second those piled up faster than they ran —
// and the job still decides after the messages, so the conversation gets
// exactly the one task.
func TestABurstOfCustomerMessagesWaitsOnOneRoutingJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.worker("ana")
		c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{
			Address: ptr("+15551230000"), ProxyAddress: ptr("+15559870000")})
		f.must(err)
		for _, body := range []string{"hello", "are you there?", "it's about my order"} {
			f.say(c.Sid, "+15551230000", body)
		}
		var queued int64
		f.must(d.Gorm.Table("jobs").Where("kind = ? AND status = ?", "interactions.inbound", "pending").Count(&queued).Error)
		if queued != 1 {
			t.Fatalf("%d routing jobs queued for three messages, want one", queued)
		}
		f.settle()
		var tasks int64
		f.must(d.Gorm.Model(&taskrouter.Task{}).Count(&tasks).Error)
		if tasks != 1 {
			t.Fatalf("%d tasks, want one", tasks)
		}
	})
}
