package media

// SetMaxSize lowers the upload cap so tests can cross it without writing
// 150 MB.
func (s *Service) SetMaxSize(n int64) { s.maxSize = n }
