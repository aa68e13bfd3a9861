// Package simulator is a carrier that exists only inside a development
// server: in-memory phones that text our SMS and WhatsApp senders through the
// same webhook path a real carrier uses, receive what we send, and report
// delivery and read statuses back. The /dev/phone page plays the phones.
package simulator

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Directions of a message, named from the server's side as Twilio names them.
const (
	Inbound  = "inbound"  // the phone wrote it
	Outbound = "outbound" // the server sent it
)

// Statuses of a phone's own message. The server's messages carry the
// carrier statuses channels.StatusSent, StatusDelivered and StatusRead.
const (
	StatusSending  = "sending"  // the webhook has not answered yet
	StatusAccepted = "accepted" // the server took it
	StatusFailed   = "failed"   // the server refused it; Message.Error says why
)

// Bounds that keep a long-running dev server's memory flat.
const (
	defaultMaxMessages   = 200      // per thread; older ones are forgotten
	defaultMaxThreads    = 1000     // least recently active threads go first
	defaultMaxMedia      = 5 << 20  // one attachment (MMS carriers stop at 5 MB)
	defaultMaxMediaTotal = 64 << 20 // all attachments; oldest go first
	maxPending           = 256      // changes a subscriber may fall behind by before it must re-render
)

// Deliver hands a webhook request to the server, as a carrier's HTTP POST
// to the provider account's webhook URL would: in a server, the channel
// layer's Webhook.
type Deliver func(ctx context.Context, providerSid string, r channels.Request) error

// Options tune a Network.
type Options struct {
	// Token authenticates the phones' webhook requests (X-Simulator-Token);
	// a simulator provider accepts them when its Secret is the same. Empty
	// means a random one (see Network.Token).
	Token string
	// Latency is how long the network takes to deliver what we send before
	// it reports "delivered", so that a person sees ✓ turn into ✓✓.
	Latency time.Duration
}

// Key names a thread: one phone (its address in conversation form, +E164
// or whatsapp:+E164) talking to one of our senders on the same network.
type Key struct {
	Phone  string
	Sender string
}

// WhatsApp reports whether the thread runs over WhatsApp rather than SMS.
func (k Key) WhatsApp() bool { return strings.HasPrefix(k.Sender, whatsappPrefix) }

const whatsappPrefix = "whatsapp:"

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// NewKey is the thread of a phone number (+E164, with or without the
// whatsapp: prefix) and one of our sender addresses: on a WhatsApp sender
// the phone is its WhatsApp address.
func NewKey(phone, sender string) (Key, error) {
	k := Key{Sender: strings.TrimSpace(sender)}
	if !e164.MatchString(strings.TrimPrefix(k.Sender, whatsappPrefix)) {
		return k, errs.Invalidf("the sender must be +E164 or whatsapp:+E164, got %q", sender)
	}
	number := strings.TrimPrefix(strings.TrimSpace(phone), whatsappPrefix)
	if !e164.MatchString(number) {
		return k, errs.Invalidf("the phone number must be in E.164 form such as +15551234567, got %q", phone)
	}
	k.Phone = number
	if k.WhatsApp() {
		k.Phone = whatsappPrefix + number
	}
	return k, nil
}

// Message is one message in a thread, as the phone sees it.
type Message struct {
	ID        string // the carrier's message id (ExternalID on our side)
	Ref       string // outbound only: the server's delivery reference
	Direction string // Inbound or Outbound
	Body      string
	Media     []Media
	Time      time.Time
	Status    string
	Error     string // why the server refused it, or why a status report failed
}

// Media is an attachment. The phone's own have an ID in the network's media
// store; the server's are URLs the phone fetches.
type Media struct {
	ID          string
	URL         string
	ContentType string
	Filename    string
}

// message is a Message and what the network needs to report on it.
type message struct {
	Message
	providerSid string // the provider that sent it, whose statuses it gets
	secret      string // that provider's token
	readWanted  bool   // the phone showed it
	reporting   bool   // a goroutine is reporting its statuses
}

type thread struct {
	messages []*message
	active   time.Time
}

type storedMedia struct {
	id          string
	contentType string
	filename    string
	data        []byte
}

// Network is the simulated carrier: every phone's threads, the attachments
// phones sent, and the pages watching threads. It is safe for concurrent use.
type Network struct {
	token   string
	deliver Deliver
	latency time.Duration

	maxMessages, maxThreads, maxMedia, maxMediaTotal int
	retryWait                                        time.Duration // before the first retry of a status report

	ctx    context.Context // ends with Close: stops status reports
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	threads    map[Key]*thread
	media      map[string]*storedMedia
	mediaOrder []string // oldest first
	mediaBytes int
	subs       map[Key]map[*Subscription]struct{}
}

// NewNetwork returns an empty network that delivers webhooks through deliver.
func NewNetwork(deliver Deliver, opts Options) *Network {
	if opts.Token == "" {
		opts.Token = randomID("")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Network{
		token: opts.Token, deliver: deliver, latency: opts.Latency,
		maxMessages: defaultMaxMessages, maxThreads: defaultMaxThreads,
		maxMedia: defaultMaxMedia, maxMediaTotal: defaultMaxMediaTotal, retryWait: 100 * time.Millisecond,
		ctx: ctx, cancel: cancel,
		threads: map[Key]*thread{}, media: map[string]*storedMedia{}, subs: map[Key]map[*Subscription]struct{}{},
	}
}

// Token is what the phones put in X-Simulator-Token: the Secret a simulator
// provider account needs for the phones to reach it.
func (n *Network) Token() string { return n.token }

// Close stops status reports in flight and waits for them.
func (n *Network) Close() {
	n.cancel()
	n.wg.Wait()
}

// Done is closed when the network closes: pages watching it should go.
func (n *Network) Done() <-chan struct{} { return n.ctx.Done() }

// randomID is prefix and 32 random hex digits.
func randomID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return prefix + hex.EncodeToString(b[:])
}

// Thread returns a copy of a thread's messages, oldest first.
func (n *Network) Thread(k Key) []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.threads[k]
	if t == nil {
		return nil
	}
	out := make([]Message, len(t.messages))
	for i, m := range t.messages {
		out[i] = m.Message
	}
	return out
}

// Threads lists the threads, most recently active first.
func (n *Network) Threads() []Key {
	n.mu.Lock()
	defer n.mu.Unlock()
	keys := make([]Key, 0, len(n.threads))
	for k := range n.threads {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := n.threads[b].active.Compare(n.threads[a].active); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Phone, b.Phone), strings.Compare(a.Sender, b.Sender))
	})
	return keys
}

// add appends a message to its thread, forgetting the oldest messages and
// threads beyond the bounds. Callers hold n.mu.
func (n *Network) add(k Key, m *message) {
	t := n.threads[k]
	if t == nil {
		if len(n.threads) >= n.maxThreads {
			n.evictThread()
		}
		t = &thread{}
		n.threads[k] = t
	}
	t.messages = append(t.messages, m)
	if over := len(t.messages) - n.maxMessages; over > 0 {
		clear(t.messages[:over])
		t.messages = t.messages[over:]
	}
	t.active = m.Time
	n.notify(k, m.ID)
}

func (n *Network) evictThread() {
	var oldest Key
	var at time.Time
	first := true
	for k, t := range n.threads {
		if first || t.active.Before(at) {
			oldest, at, first = k, t.active, false
		}
	}
	delete(n.threads, oldest)
}

// find returns a message of a thread. Callers hold n.mu.
func (n *Network) find(k Key, id string) *message {
	if t := n.threads[k]; t != nil {
		for _, m := range t.messages {
			if m.ID == id {
				return m
			}
		}
	}
	return nil
}

// Text is what a phone sends.
type Text struct {
	Key         Key
	ProfileName string // the customer's name, as WhatsApp tells it
	Body        string
	Attachments []Attachment
}

// Attachment is a file the phone attaches.
type Attachment struct {
	ContentType string
	Filename    string
	Data        []byte
}

// maxBody bounds a phone's message text (WhatsApp's limit; SMS segments
// long texts, so it has none of its own).
const maxBody = 4096

// Text sends a phone's message to one of our senders through the webhook of
// providerSid, the account the sender belongs to. The message enters the
// thread at once and ends accepted, or failed with the server's error. The
// error returned is only for a text the phone could not send at all.
func (n *Network) Text(ctx context.Context, providerSid string, t Text) (Message, error) {
	if strings.TrimSpace(t.Body) == "" && len(t.Attachments) == 0 {
		return Message{}, errs.Invalidf("write something or attach a file")
	}
	if len(t.Body) > maxBody {
		return Message{}, errs.Invalidf("the message is longer than %d bytes", maxBody)
	}
	for _, a := range t.Attachments {
		if len(a.Data) > n.maxMedia {
			return Message{}, errs.E(errs.TooLarge, errs.CodeInvalidParam, "%s is larger than %d MB", a.Filename, n.maxMedia>>20)
		}
	}
	m := &message{Message: Message{ID: randomID("SM"), Direction: Inbound, Body: t.Body, Time: time.Now().UTC(), Status: StatusSending}}
	wire := inboundWire{Type: typeMessage, ID: m.ID, From: t.Key.Phone, To: t.Key.Sender, Body: t.Body, ProfileName: t.ProfileName}
	n.mu.Lock()
	for _, a := range t.Attachments {
		id := n.storeMedia(a)
		m.Media = append(m.Media, Media{ID: id, ContentType: a.ContentType, Filename: a.Filename})
		wire.Media = append(wire.Media, mediaWire{URL: MediaURL(id), ContentType: a.ContentType, Filename: a.Filename})
	}
	n.add(t.Key, m)
	n.mu.Unlock()

	err := n.deliver(ctx, providerSid, request(n.token, wire))

	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		m.Status, m.Error = StatusFailed, describe(err)
	} else {
		m.Status = StatusAccepted
	}
	n.notify(t.Key, m.ID)
	return m.Message, nil
}

// describe is the server's error as a developer wants to read it.
func describe(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Code != 0 {
		return fmt.Sprintf("%s (error %d)", e.Message, e.Code)
	}
	return err.Error()
}

// Read notes that the phone showed one of the server's messages. WhatsApp
// reports it as read once it has reported it delivered; SMS has no read
// receipts, so nothing is reported there.
func (n *Network) Read(k Key, id string) {
	if !k.WhatsApp() {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.find(k, id)
	if m == nil || m.Direction != Outbound || m.readWanted {
		return
	}
	m.readWanted = true
	n.startReports(k, m, 0)
}

// received records a message the server sent and starts reporting its
// statuses after the network's latency.
func (n *Network) received(k Key, m *message) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.add(k, m)
	n.startReports(k, m, n.latency)
}

// startReports runs a message's status reports unless they already run.
// Callers hold n.mu.
func (n *Network) startReports(k Key, m *message, after time.Duration) {
	if m.reporting || n.ctx.Err() != nil {
		return
	}
	m.reporting = true
	n.wg.Add(1)
	go n.report(k, m, after)
}

// nextStatus is the status a message should report next, or "".
func nextStatus(k Key, m *message) string {
	switch {
	case m.Status == channels.StatusSent:
		return channels.StatusDelivered
	case m.Status == channels.StatusDelivered && m.readWanted && k.WhatsApp():
		return channels.StatusRead
	}
	return ""
}

// report delivers a message's statuses in order — delivered, then read once
// the phone has shown it — each once the server took the previous one, so
// the ticks never go backwards.
func (n *Network) report(k Key, m *message, after time.Duration) {
	defer n.wg.Done()
	if after > 0 {
		t := time.NewTimer(after)
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
		}
	}
	for {
		n.mu.Lock()
		next := nextStatus(k, m)
		if next == "" || n.ctx.Err() != nil {
			m.reporting = false
			n.mu.Unlock()
			return
		}
		r := request(m.secret, statusWire{Type: typeStatus, Ref: m.Ref, ID: m.ID, Status: next})
		providerSid := m.providerSid
		n.mu.Unlock()

		err := n.deliverRetrying(providerSid, r)

		n.mu.Lock()
		if err != nil {
			m.Error = "reporting " + next + ": " + describe(err)
			m.reporting = false
			n.notify(k, m.ID)
			n.mu.Unlock()
			return
		}
		m.Status, m.Error = next, ""
		n.notify(k, m.ID)
		n.mu.Unlock()
	}
}

// deliverRetrying tries a status report a few times, as carriers retry
// webhooks: the server may not have recorded the send the status is about
// when the first attempt arrives.
func (n *Network) deliverRetrying(providerSid string, r channels.Request) error {
	wait := n.retryWait
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		err = n.deliver(ctx, providerSid, r)
		cancel()
		if err == nil || n.ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
			return err
		}
		wait *= 2
	}
	return err
}

// sentSince returns the ids of the server's messages with a delivery
// reference, sent at or after since, oldest first.
func (n *Network) sentSince(k Key, ref string, since time.Time) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ids []string
	if t := n.threads[k]; t != nil {
		for _, m := range t.messages {
			if m.Direction == Outbound && m.Ref == ref && !m.Time.Before(since) {
				ids = append(ids, m.ID)
			}
		}
	}
	return ids
}

// mediaURLPrefix starts the URLs of phones' attachments in webhooks. The
// host is reserved (RFC 2606), so nothing but FetchMedia can resolve them.
const mediaURLPrefix = "https://simulator.invalid/media/"

// MediaURL is the webhook URL of a phone's attachment.
func MediaURL(id string) string { return mediaURLPrefix + id }

// storeMedia keeps an attachment, forgetting the oldest beyond the total
// bound. Callers hold n.mu.
func (n *Network) storeMedia(a Attachment) string {
	id := randomID("ME")
	n.media[id] = &storedMedia{id: id, contentType: a.ContentType, filename: a.Filename, data: a.Data}
	n.mediaOrder = append(n.mediaOrder, id)
	n.mediaBytes += len(a.Data)
	for n.mediaBytes > n.maxMediaTotal && len(n.mediaOrder) > 1 {
		old := n.media[n.mediaOrder[0]]
		n.mediaBytes -= len(old.data)
		delete(n.media, old.id)
		n.mediaOrder = n.mediaOrder[1:]
	}
	return id
}

// Attachment returns a phone's attachment by id.
func (n *Network) Attachment(id string) (Attachment, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m, ok := n.media[id]
	if !ok {
		return Attachment{}, false
	}
	return Attachment{ContentType: m.contentType, Filename: m.filename, Data: m.data}, true
}

// Subscription hears about changes to one thread. C receives a value when
// there is something new for Changes.
type Subscription struct {
	C chan struct{}

	n       *Network
	key     Key
	pending map[string]struct{} // guarded by n.mu
	resync  bool                // guarded by n.mu
}

// Subscribe starts listening to a thread. The first Changes returns the
// whole thread.
func (n *Network) Subscribe(k Key) *Subscription {
	s := &Subscription{C: make(chan struct{}, 1), n: n, key: k, pending: map[string]struct{}{}, resync: true}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs[k] == nil {
		n.subs[k] = map[*Subscription]struct{}{}
	}
	n.subs[k][s] = struct{}{}
	s.C <- struct{}{}
	return s
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	delete(s.n.subs[s.key], s)
	if len(s.n.subs[s.key]) == 0 {
		delete(s.n.subs, s.key)
	}
}

// Resync makes the next Changes return the whole thread, as after
// reconnecting.
func (s *Subscription) Resync() {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	s.resync = true
	s.signal()
}

// Changes returns the messages added or changed since the last call, in
// thread order, or the whole thread when all is true (the first call, or
// after the subscriber fell too far behind).
func (s *Subscription) Changes() (msgs []Message, all bool) {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	all, pending := s.resync, s.pending
	s.resync, s.pending = false, map[string]struct{}{}
	t := s.n.threads[s.key]
	if t == nil {
		return nil, all
	}
	for _, m := range t.messages {
		if _, ok := pending[m.ID]; all || ok {
			msgs = append(msgs, m.Message)
		}
	}
	return msgs, all
}

func (s *Subscription) signal() {
	select {
	case s.C <- struct{}{}:
	default: // already signalled; Changes will collect everything
	}
}

// notify tells a thread's subscribers a message changed. Callers hold n.mu.
func (n *Network) notify(k Key, id string) {
	for s := range n.subs[k] {
		if !s.resync {
			s.pending[id] = struct{}{}
			if len(s.pending) > maxPending {
				s.resync, s.pending = true, map[string]struct{}{}
			}
		}
		s.signal()
	}
}
