package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// clientFrom takes the client out of the data Configure hands to every
// resource and data source. It returns nil before the provider is
// configured, and adds an error when the data is of the wrong type.
func clientFrom(data any, diags *diag.Diagnostics) *iotda.Client {
	if data == nil {
		return nil
	}
	client, ok := data.(*iotda.Client)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *iotda.Client, got %T. This is a bug in the provider; please report it.", data))
		return nil
	}
	return client
}

// unconfiguredSummary is the error of a call that needs the API while the
// provider configuration is still unknown (see Configure).
const unconfiguredSummary = "IoTDA Provider Configuration Not Known"

const unconfiguredDetail = "The provider's endpoint, region, project_id or instance_id depends on a value not known until apply, so this %s cannot call the IoTDA API yet. " +
	"Resources plan without the API in this case; data sources and `terraform query` need it. Apply the resources the provider configuration depends on first " +
	"(for example `terraform apply -target=<resource>`), then plan again."

// requireClient adds an error naming what needed the API when the provider
// is unconfigured, and reports whether the client is there.
func requireClient(client *iotda.Client, what string, diags *diag.Diagnostics) bool {
	if client == nil {
		diags.AddError(unconfiguredSummary, fmt.Sprintf(unconfiguredDetail, what))
	}
	return client != nil
}
