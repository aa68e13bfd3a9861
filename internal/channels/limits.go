package channels

import (
	"time"

	"golang.org/x/time/rate"
)

// Default sending rates per sender, in messages per second. WhatsApp's are
// Meta's defaults (10/s, media 1.5/s); Twilio queues beyond a number's own
// rate itself, so 10/s only keeps one busy sender from monopolising the
// delivery workers. The simulator is not limited.
var defaultRates = map[string]float64{"whatsapp": 10, "sms": 10}

const whatsappMediaRate = 1.5

// senderLimits paces one sender's deliveries on this node.
type senderLimits struct {
	all   *rate.Limiter
	media *rate.Limiter // nil when media are not limited separately
}

// reserve takes a slot and returns how long to wait before using it. A slot
// further out than patience is given back, as the caller comes back later
// rather than wait: kept, it would queue the caller behind its own place.
func (l *senderLimits) reserve(withMedia bool, patience time.Duration) time.Duration {
	if l == nil {
		return 0
	}
	all := l.all.Reserve()
	wait := all.Delay()
	var media *rate.Reservation
	if withMedia && l.media != nil {
		media = l.media.Reserve()
		wait = max(wait, media.Delay())
	}
	if wait > patience {
		all.Cancel()
		if media != nil {
			media.Cancel()
		}
	}
	return wait
}

// limits returns the sender's limiter, made on first use.
func (s *Service) limits(snd Sender) *senderLimits {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.limiters[snd.Address]; ok {
		return l
	}
	var l *senderLimits
	r := snd.RateLimit
	if r == 0 && s.kindOf(snd.ProviderSid) != KindSimulator {
		r = defaultRates[snd.Channel()]
	}
	if r > 0 {
		l = &senderLimits{all: rate.NewLimiter(rate.Limit(r), max(1, int(r)))}
		if snd.Channel() == "whatsapp" {
			l.media = rate.NewLimiter(whatsappMediaRate, 1)
		}
	}
	s.limiters[snd.Address] = l
	return l
}

// kindOf is the kind of a provider already built (deliveries build it before
// pacing); "" when unknown.
func (s *Service) kindOf(providerSid string) string {
	return s.providers[providerSid].account.Kind
}
