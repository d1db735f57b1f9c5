package iotda

// Internals the external tests use.
type (
	BindRequest          = bindRequest
	ListPoliciesResponse = listPoliciesResponse
)

var (
	SameStatements     = sameStatements
	RegionFromEndpoint = regionFromEndpoint
	ErrNoAnswer        = errNoAnswer
)

const (
	DefaultReadAfterWriteWindow = defaultReadAfterWriteWindow
	CodeTargetNotBound          = codeTargetNotBound
)

// SetPageSize sets the page size of the listings of a client made from cfg.
func SetPageSize(cfg *Config, n int) { cfg.pageSize = n }
