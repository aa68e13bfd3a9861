package auth

import (
	"context"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// APIKeys lists the account's API keys, oldest first. Their secrets cannot
// be read: only the hash and the sealed copy are kept.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := s.db.Gorm.WithContext(ctx).Order("date_created, sid").Find(&out).Error
	return out, errs.Wrap(err, "api keys")
}

// DeleteAPIKey revokes a key: REST calls with it fail from now on, and so
// do the access tokens it signed.
func (s *Store) DeleteAPIKey(ctx context.Context, keySid string) error {
	if !sid.Is(keySid, sid.APIKey) {
		return errs.Invalidf("%q is not an API key SID (SK…)", keySid)
	}
	res := s.db.Gorm.WithContext(ctx).Where("sid = ?", keySid).Delete(&APIKey{})
	if res.Error == nil && res.RowsAffected == 0 {
		return errs.NotFoundf("The requested resource /Keys/%s was not found", keySid)
	}
	return errs.Wrap(res.Error, "delete api key")
}
