package webhooks

import (
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

// readThrough is how long after a webhook configuration changes on this
// node the cache is not refilled: a load between the change and its commit
// would otherwise keep the old configuration. Transactions publish the
// change as their last step, so they commit well within it.
const readThrough = 5 * time.Second

// snapshot is the webhook configuration of the account at one moment.
type snapshot struct {
	configs map[string]conversations.WebhookConfig // by scope: "" global, else a service SID
	// scoped says some conversation has a webhook of its own, so conversation
	// events must look for them.
	scoped bool
}

// target is the configuration whose hooks a service's events go to: the
// service's own when it has a URL (Twilio: "service-scoped webhooks will
// override your global webhook settings such that only the service-scoped
// hooks will fire"), else the global one unless that one targets Flex,
// whose events Switchboard itself stands in for.
func (s snapshot) target(serviceSid string) (conversations.WebhookConfig, bool) {
	if c, ok := s.configs[serviceSid]; ok && serviceSid != "" && (c.PreWebhookURL != "" || c.PostWebhookURL != "") {
		return c, true
	}
	c, ok := s.configs[""]
	return c, ok && c.Target != conversations.WebhookTargetFlex
}

// hears reports whether a configuration's filters select the event: an
// unlisted event does not fire.
func hears(c conversations.WebhookConfig, event string) bool {
	return slices.Contains(c.FilterList(), event)
}

// configCache keeps the account's webhook configuration in memory, so that
// writes in an account without webhooks pay no query for them. Changes on
// this node invalidate it inside their transaction, changes anywhere once
// they commit (through the event bus).
type configCache struct {
	mu     sync.Mutex
	snap   snapshot
	loaded bool
	gen    uint64    // bumped by every invalidation, so a load racing one is not kept
	hold   time.Time // loads are not kept before this
	// scoped only ever goes from false to true: a webhook added in a
	// transaction still running must count, and one too many lookups costs
	// little.
	scoped bool
	now    func() time.Time
}

// get returns the configuration, loading it through q when not cached.
func (c *configCache) get(q *gorm.DB) (snapshot, error) {
	c.mu.Lock()
	if c.loaded {
		s := c.snap
		c.mu.Unlock()
		return s, nil
	}
	gen := c.gen
	c.mu.Unlock()

	var rows []conversations.WebhookConfig
	if err := q.Find(&rows).Error; err != nil {
		return snapshot{}, err
	}
	var scoped []string
	if err := q.Model(&conversations.ConversationWebhook{}).Limit(1).Pluck("sid", &scoped).Error; err != nil {
		return snapshot{}, err
	}
	s := snapshot{configs: make(map[string]conversations.WebhookConfig, len(rows))}
	for _, r := range rows {
		s.configs[r.Scope] = r
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.scoped = c.scoped || len(scoped) > 0
	s.scoped = c.scoped
	if c.gen == gen && !c.now().Before(c.hold) {
		c.snap, c.loaded = s, true
	}
	return s, nil
}

// invalidate drops the cached configuration. inFlight says the change has
// not committed yet, so loads must not be kept for a while.
func (c *configCache) invalidate(inFlight bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loaded = false
	c.gen++
	if inFlight {
		c.hold = c.now().Add(readThrough)
	}
}

// markScoped notes that some conversation now has a webhook of its own.
func (c *configCache) markScoped() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scoped = true
	c.snap.scoped = true
}
