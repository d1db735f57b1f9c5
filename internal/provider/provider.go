// Package provider implements the iotda Terraform provider: its
// configuration, resources, data sources and functions.
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

var (
	_ provider.Provider                  = (*iotdaProvider)(nil)
	_ provider.ProviderWithFunctions     = (*iotdaProvider)(nil)
	_ provider.ProviderWithListResources = (*iotdaProvider)(nil)
)

// New returns a constructor of the provider for the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &iotdaProvider{version: version, newClient: iotda.New, getenv: os.Getenv}
	}
}

// iotdaProvider hands one *iotda.Client to every resource, data source and
// function that needs the API.
type iotdaProvider struct {
	version string
	// newClient builds the client from the resolved configuration: iotda.New,
	// or in tests a wrapper that adjusts the configuration first (see
	// newTestProvider).
	newClient func(iotda.Config) (*iotda.Client, error)
	// getenv reads the environment fallbacks of the settings: os.Getenv,
	// or in tests the settings of a real instance kept out of the process
	// environment.
	getenv func(string) string
}

type providerModel struct {
	Region           types.String `tfsdk:"region"`
	Endpoint         types.String `tfsdk:"endpoint"`
	ProjectID        types.String `tfsdk:"project_id"`
	InstanceID       types.String `tfsdk:"instance_id"`
	AccessKey        types.String `tfsdk:"access_key"`
	SecretKey        types.String `tfsdk:"secret_key"`
	SecurityToken    types.String `tfsdk:"security_token"`
	AuthToken        types.String `tfsdk:"auth_token"`
	SigningAlgorithm types.String `tfsdk:"signing_algorithm"`
	MaxRetries       types.Int64  `tfsdk:"max_retries"`
	MaxRetryAfter    types.Int64  `tfsdk:"max_retry_after"`
	MaxRetryTime     types.Int64  `tfsdk:"max_retry_time"`
	RequestTimeout   types.Int64  `tfsdk:"request_timeout"`
	BatchParallelism types.Int64  `tfsdk:"batch_parallelism"`
	Insecure         types.Bool   `tfsdk:"insecure"`
}

// maxRetryAfterLimit is the largest max_retry_after and max_retry_time,
// and maxRequestTimeout the largest request_timeout, in seconds.
const (
	maxRetryAfterLimit = 3600
	maxRequestTimeout  = 600
)

func (p *iotdaProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "iotda"
	resp.Version = p.version
}

func (p *iotdaProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The IoTDA provider manages Huawei Cloud IoTDA device policies (the ALLOW/DENY rules on the MQTT topics devices may publish or subscribe to) and their bindings to devices, products and resource spaces.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				MarkdownDescription: "The region, e.g. `cn-north-4`: the scope of derived signing, and the region of the default endpoint. Read from the instance's access address when not set. Environment: `HW_REGION_NAME`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(iotda.RegionPattern, "must be a region name such as cn-north-4")},
			},
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "The IoTDA API endpoint. Device policies are served by standard and enterprise instances: set the instance's access address, e.g. `https://a1b2c3d4e5.st1.iotda-app.cn-north-4.myhuaweicloud.com`. Without it, the provider uses the region's endpoint `https://iotda.{region}.myhuaweicloud.com`, the basic edition's, where device policies are not available. Environment: `HW_IOTDA_ENDPOINT`, then `HW_IOTDA_ACCESS_ADDRESS`.",
				Optional:            true,
			},
			"project_id": schema.StringAttribute{
				MarkdownDescription: "The project id of the region. Environment: `HW_PROJECT_ID`, then `HUAWEICLOUD_SDK_PROJECT_ID`.",
				Optional:            true,
			},
			"instance_id": schema.StringAttribute{
				MarkdownDescription: "The id of the IoTDA instance (the console's Overview page), sent as the `Instance-Id` header of every request to scope it to that instance; the API reference recommends it on every call. Environment: `HW_IOTDA_INSTANCE_ID`.",
				Optional:            true,
			},
			"access_key": schema.StringAttribute{
				MarkdownDescription: "The access key (AK). Environment: `HW_ACCESS_KEY`, then `HUAWEICLOUD_SDK_AK`.",
				Optional:            true,
			},
			"secret_key": schema.StringAttribute{
				MarkdownDescription: "The secret key (SK). Environment: `HW_SECRET_KEY`, then `HUAWEICLOUD_SDK_SK`.",
				Optional:            true,
				Sensitive:           true,
			},
			"security_token": schema.StringAttribute{
				MarkdownDescription: "The security token of temporary access keys. Environment: `HW_SECURITY_TOKEN`, then `HUAWEICLOUD_SDK_SECURITY_TOKEN`.",
				Optional:            true,
				Sensitive:           true,
			},
			"auth_token": schema.StringAttribute{
				MarkdownDescription: "An IAM token, sent as `X-Auth-Token` instead of signing requests with access keys. Environment: `HW_AUTH_TOKEN`.",
				Optional:            true,
				Sensitive:           true,
			},
			"signing_algorithm": schema.StringAttribute{
				MarkdownDescription: "How requests are signed with access keys: `auto` (default) uses `V11-HMAC-SHA256` (derived signing, which the access addresses of standard and enterprise instances require) for endpoints whose host contains `.iotda-app.`, and `SDK-HMAC-SHA256` otherwise; either name forces that algorithm.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(iotda.SigningAuto, iotda.SigningBasic, iotda.SigningDerived)},
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many times a failed call (HTTP 429, 5xx or a network error) is retried, with exponential backoff and jitter. Default %d. A create is retried only when the API provably did not act on it.", iotda.DefaultMaxRetries),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(0, iotda.MaxMaxRetries)},
			},
			"max_retry_after": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("The longest wait, in seconds, that a `Retry-After` header of a throttled or failed call may ask for before the retry. Default %d. A call whose answer asks for longer is not retried: it fails at once with an error that says how long the API asked to wait.", seconds(iotda.DefaultMaxRetryAfter)),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, maxRetryAfterLimit)},
			},
			"request_timeout": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How long, in seconds, one request may wait for its answer. Default %d. A request the endpoint takes and never answers fails after this time; a create that fails so is not sent again, and the error says that the policy may exist and how to import it.", seconds(iotda.DefaultRequestTimeout)),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, maxRequestTimeout)},
			},
			"max_retry_time": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("The longest time, in seconds, one API call may take with its retries and the waits between them. Default %d. No retry starts whose wait would end after it, and a request still waiting when it ends is cut. With the defaults, a create on an endpoint that never answers fails in %d seconds: the create (never sent twice) and the listing that looks for what it may have created.", seconds(iotda.DefaultMaxRetryTime), seconds(iotda.DefaultRequestTimeout+iotda.DefaultMaxRetryTime)),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, maxRetryAfterLimit)},
			},
			"batch_parallelism": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many API calls of one batch run at once: bind or unbind calls of `iotda_device_policy_binding` (up to %d targets each), the pages of a listing of targets after its first, and the per-policy target listings and reads of `iotda_device_access`. Default %d; raise it with care, the API throttles.", iotda.MaxTargetsPerCall, iotda.DefaultBatchParallelism),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, iotda.MaxBatchParallelism)},
			},
			"insecure": schema.BoolAttribute{
				MarkdownDescription: "Skip the verification of the endpoint's TLS certificate. Default `false`; only for test endpoints.",
				Optional:            true,
			},
		},
	}
}

func (p *iotdaProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}

	// Terraform configures the provider with unknown values at plan when the
	// endpoint comes from a resource not yet applied (an IoTDA instance made
	// by another provider), and again with known values at apply. A client
	// that supports deferred actions (Terraform Stacks, experimental builds
	// of Terraform) is asked to plan this provider's resources and data
	// sources in a later round; with any other, left unconfigured, resources
	// plan without the API and anything that needs it says why
	// (requireClient).
	if config.Endpoint.IsUnknown() || config.Region.IsUnknown() || config.ProjectID.IsUnknown() || config.InstanceID.IsUnknown() {
		if req.ClientCapabilities.DeferralAllowed {
			resp.Deferred = &provider.Deferred{Reason: provider.DeferredReasonProviderConfigUnknown}
		}
		tflog.Info(ctx, "provider configuration not known until apply; the IoTDA client is left unconfigured for this plan",
			map[string]any{"deferred": resp.Deferred != nil})
		return
	}
	cfg, diags := resolveConfig(config, p.getenv)
	resp.Diagnostics.Append(diags...)
	secrets := []string{cfg.Credentials.SecretKey, cfg.Credentials.SecurityToken, cfg.Credentials.AuthToken}
	ctx = maskSecrets(ctx, secrets)
	cfg.UserAgent = "terraform-provider-iotda/" + p.version
	cfg.Logger = tflogLogger{secrets: secrets}

	client := newClient(config, cfg, p.newClient, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "configured the IoTDA client", map[string]any{
		"endpoint": client.Endpoint(), "project_id": cfg.ProjectID, "instance_id": cfg.InstanceID,
		"region": client.Region(), "signing_algorithm": cfg.SigningAlgorithm, "auth": authKind(cfg.Credentials),
	})

	resp.ResourceData = client
	resp.DataSourceData = client
	resp.ListResourceData = client
}

func (p *iotdaProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewDevicePolicyResource,
		NewDevicePolicyBindingResource,
	}
}

// ListResources are what `terraform query` lists (Terraform 1.14+).
func (p *iotdaProvider) ListResources(_ context.Context) []func() list.ListResource {
	return []func() list.ListResource{
		NewDevicePolicyListResource,
		NewDevicePolicyBindingListResource,
	}
}

func (p *iotdaProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewDevicePolicyDataSource,
		NewDevicePoliciesDataSource,
		NewDevicePolicyTargetsDataSource,
		NewDeviceAccessDataSource,
	}
}

func (p *iotdaProvider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{
		NewEvaluateFunction,
		NewCompareFunction,
		NewTargetsFunction,
	}
}

// envSetting is one provider attribute with its environment fallbacks.
type envSetting struct {
	attribute string
	value     types.String
	env       []string
}

// resolve returns the configured value, else the first non-empty
// environment variable. An unknown value is an attribute error.
func (s envSetting) resolve(getenv func(string) string, diags *diag.Diagnostics) string {
	if s.value.IsUnknown() {
		diags.AddAttributeError(path.Root(s.attribute), "Unknown IoTDA Provider Setting",
			fmt.Sprintf("The provider cannot be configured because %q is not known until apply. Set it to a value known at plan time, or leave it out and set %s in the environment.", s.attribute, strings.Join(s.env, " or ")))
		return ""
	}
	if v := s.value.ValueString(); v != "" {
		return v
	}
	for _, name := range s.env {
		if v := getenv(name); v != "" {
			return v
		}
	}
	return ""
}

// resolveConfig turns the provider block and the environment into a client
// configuration, with an attribute error for each missing or unknown value.
// The rules of the endpoint are the client's: newClient applies them.
func resolveConfig(config providerModel, getenv func(string) string) (iotda.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	setting := func(attribute string, value types.String, env ...string) string {
		return envSetting{attribute: attribute, value: value, env: env}.resolve(getenv, &diags)
	}
	cfg := iotda.Config{
		Region:     setting("region", config.Region, "HW_REGION_NAME"),
		Endpoint:   setting("endpoint", config.Endpoint, "HW_IOTDA_ENDPOINT", "HW_IOTDA_ACCESS_ADDRESS"),
		ProjectID:  setting("project_id", config.ProjectID, "HW_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID"),
		InstanceID: setting("instance_id", config.InstanceID, "HW_IOTDA_INSTANCE_ID"),
		Credentials: iotda.Credentials{
			AccessKey:     setting("access_key", config.AccessKey, "HW_ACCESS_KEY", "HUAWEICLOUD_SDK_AK"),
			SecretKey:     setting("secret_key", config.SecretKey, "HW_SECRET_KEY", "HUAWEICLOUD_SDK_SK"),
			SecurityToken: setting("security_token", config.SecurityToken, "HW_SECURITY_TOKEN", "HUAWEICLOUD_SDK_SECURITY_TOKEN"),
			AuthToken:     setting("auth_token", config.AuthToken, "HW_AUTH_TOKEN"),
		},
		SigningAlgorithm: config.SigningAlgorithm.ValueString(),
	}
	if config.SigningAlgorithm.IsUnknown() {
		diags.AddAttributeError(path.Root("signing_algorithm"), "Unknown IoTDA Provider Setting", `"signing_algorithm" must be known at plan time.`)
	}
	for name, unknown := range map[string]bool{
		"max_retries":       config.MaxRetries.IsUnknown(),
		"max_retry_after":   config.MaxRetryAfter.IsUnknown(),
		"max_retry_time":    config.MaxRetryTime.IsUnknown(),
		"request_timeout":   config.RequestTimeout.IsUnknown(),
		"batch_parallelism": config.BatchParallelism.IsUnknown(),
		"insecure":          config.Insecure.IsUnknown(),
	} {
		if unknown {
			diags.AddAttributeError(path.Root(name), "Unknown IoTDA Provider Setting", fmt.Sprintf("%q must be known at plan time.", name))
		}
	}
	if !config.MaxRetries.IsNull() {
		cfg.MaxRetries = new(int(config.MaxRetries.ValueInt64()))
	}
	if !config.MaxRetryAfter.IsNull() {
		cfg.MaxRetryAfter = time.Duration(config.MaxRetryAfter.ValueInt64()) * time.Second
	}
	if !config.MaxRetryTime.IsNull() {
		cfg.MaxRetryTime = time.Duration(config.MaxRetryTime.ValueInt64()) * time.Second
	}
	if !config.RequestTimeout.IsNull() {
		cfg.RequestTimeout = time.Duration(config.RequestTimeout.ValueInt64()) * time.Second
	}
	if !config.BatchParallelism.IsNull() {
		cfg.BatchParallelism = int(config.BatchParallelism.ValueInt64())
	}
	cfg.Insecure = config.Insecure.ValueBool()
	if diags.HasError() {
		return cfg, diags
	}

	if cfg.ProjectID == "" {
		diags.AddAttributeError(path.Root("project_id"), "Missing IoTDA Project ID",
			"Set project_id, or HW_PROJECT_ID or HUAWEICLOUD_SDK_PROJECT_ID in the environment, to the project id of the region.")
	}
	creds := cfg.Credentials
	if creds.AuthToken == "" {
		// One error when nothing is set: "Missing IoTDA Credentials" already
		// asks for both keys.
		if creds.AccessKey == "" {
			diags.AddAttributeError(path.Root("access_key"), "Missing IoTDA Credentials",
				"Set access_key and secret_key (or HW_ACCESS_KEY and HW_SECRET_KEY), or auth_token (or HW_AUTH_TOKEN).")
		} else if creds.SecretKey == "" {
			diags.AddAttributeError(path.Root("secret_key"), "Missing IoTDA Secret Key",
				"Set secret_key (or HW_SECRET_KEY or HUAWEICLOUD_SDK_SK) together with access_key.")
		}
	}
	return cfg, diags
}

// newClient builds the client from cfg, resolved from config, unless
// diags already holds an error: then it only adds the endpoint's error,
// so that one run reports every setting at fault. A missing or invalid
// endpoint is an error on the endpoint attribute.
func newClient(config providerModel, cfg iotda.Config, build func(iotda.Config) (*iotda.Client, error), diags *diag.Diagnostics) *iotda.Client {
	client, err := build(cfg)
	var endpointErr *iotda.EndpointError
	switch {
	case errors.As(err, &endpointErr) && endpointErr.Missing:
		if !config.Endpoint.IsUnknown() && !config.Region.IsUnknown() {
			diags.AddAttributeError(path.Root("endpoint"), "Missing IoTDA Endpoint", fmt.Sprintf(
				"Set endpoint (or HW_IOTDA_ENDPOINT) to the IoTDA access address, or set region (or HW_REGION_NAME) to use %s.", iotda.DefaultEndpoint("{region}")))
		}
	case errors.As(err, &endpointErr):
		diags.AddAttributeError(path.Root("endpoint"), "Invalid IoTDA Endpoint", endpointErr.Error())
	case err != nil && !diags.HasError():
		diags.AddError("Invalid IoTDA Provider Configuration", err.Error())
	}
	if diags.HasError() {
		return nil
	}
	return client
}

// seconds writes a default duration in the unit of the settings.
func seconds(d time.Duration) int {
	return int(d / time.Second)
}

func authKind(c iotda.Credentials) string {
	switch {
	case c.AuthToken != "":
		return "token"
	case c.SecurityToken != "":
		return "temporary-aksk"
	}
	return "aksk"
}

// maskSecrets makes tflog replace every non-empty secret in fields and
// messages.
func maskSecrets(ctx context.Context, secrets []string) context.Context {
	for _, s := range secrets {
		if s != "" {
			ctx = tflog.MaskAllFieldValuesStrings(ctx, s)
			ctx = tflog.MaskMessageStrings(ctx, s)
		}
	}
	return ctx
}

// tflogLogger sends the client's per-request events to tflog.
type tflogLogger struct {
	secrets []string
}

func (l tflogLogger) Debug(ctx context.Context, msg string, fields map[string]any) {
	tflog.Debug(maskSecrets(ctx, l.secrets), msg, fields)
}
