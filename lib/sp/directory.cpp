// SPDX-License-Identifier: EUPL-1.2
// Trusted IdPs from a federation's metadata provider.
#include <fmt/format.h>

#include "interkonto/metadata_provider.hpp"
#include "interkonto/sp.hpp"

namespace interkonto {

namespace {

class FederationIdps final : public IdpDirectory {
public:
  FederationIdps(std::shared_ptr<const MetadataProvider> provider, IdpSettings defaults, EntityFilter filter,
                 std::vector<IdpSettings> overrides)
      : provider_(std::move(provider)), defaults_(std::move(defaults)), filter_(std::move(filter)),
        overrides_(std::move(overrides)) {
    if (!provider_)
      throw Error(ErrorCode::config_invalid, "federation IdP directory without a metadata provider");
    for (const auto &o : overrides_)
      if (!o.entity) throw Error(ErrorCode::config_invalid, "an IdP override must name its entity");
  }

  std::shared_ptr<const IdpSettings> find(std::string_view entity_id) const override {
    const SnapshotPtr snap = provider_->snapshot();
    if (!snap)
      throw Error(ErrorCode::untrusted_metadata,
                  "the federation metadata is not usable (not loaded, or expired): " +
                      provider_->health().last_error);
    EntityPtr e = snap->find(entity_id);
    if (!e || !e->idp || !filter_.matches(*e)) return nullptr;
    auto s = std::make_shared<IdpSettings>(defaults_);
    for (const auto &o : overrides_)
      if (o.entity->entity_id == entity_id) *s = o;
    s->entity = std::move(e); // always the entity of the current, verified snapshot
    return s;
  }

private:
  std::shared_ptr<const MetadataProvider> provider_;
  IdpSettings defaults_;
  EntityFilter filter_;
  std::vector<IdpSettings> overrides_;
};

} // namespace

std::shared_ptr<const IdpDirectory>
make_federation_idp_directory(std::shared_ptr<const MetadataProvider> provider, IdpSettings defaults,
                              EntityFilter filter, std::vector<IdpSettings> overrides) {
  return std::make_shared<FederationIdps>(std::move(provider), std::move(defaults), std::move(filter),
                                          std::move(overrides));
}

} // namespace interkonto
