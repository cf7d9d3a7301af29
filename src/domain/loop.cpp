#include "xiaonao/domain/loop.hpp"

#include <algorithm>

namespace xiaonao::domain::loop {
namespace {

template <class E, std::size_t N>
const char* name_of(E v, const std::array<const char*, N>& names) {
  const auto i = static_cast<std::size_t>(v);
  return i < N ? names[i] : "?";
}

template <class E, std::size_t N>
std::optional<E> parse_of(std::string_view s, const std::array<const char*, N>& names) {
  for (std::size_t i = 0; i < N; ++i)
    if (s == names[i]) return static_cast<E>(i);
  return std::nullopt;
}

constexpr std::array<const char*, 8> kIncidentStates{"received", "assessed", "dispatched", "on_scene",
                                                     "resolved", "closed",   "cancelled",  "diverted"};
constexpr std::array<const char*, 8> kIncidentEvents{"assess", "dispatch", "arrive", "resolve",
                                                     "close",  "cancel",   "divert", "reclaim"};
constexpr std::array<const char*, 7> kOrderStates{"issued",    "acknowledged", "en_route",  "on_scene",
                                                  "completed", "declined",     "reassigned"};
constexpr std::array<const char*, 6> kOrderEvents{"ack", "en_route", "on_scene", "complete", "decline", "reassign"};
constexpr std::array<const char*, 5> kSupportStates{"requested", "accepted", "answered", "closed", "rejected"};
constexpr std::array<const char*, 4> kSupportEvents{"accept", "answer", "close", "reject"};
constexpr std::array<const char*, 4> kDiversionStates{"sent", "accepted", "rejected", "done"};
constexpr std::array<const char*, 3> kDiversionEvents{"accept", "reject", "done"};
constexpr std::array<const char*, 6> kDeadlineKinds{"acknowledge", "arrive", "feedback", "accept", "answer", "done"};

}  // namespace

const char* name(IncidentState s) { return name_of(s, kIncidentStates); }
const char* name(IncidentEvent e) { return name_of(e, kIncidentEvents); }
std::optional<IncidentState> parse_incident_state(std::string_view s) { return parse_of<IncidentState>(s, kIncidentStates); }
std::optional<IncidentEvent> parse_incident_event(std::string_view s) { return parse_of<IncidentEvent>(s, kIncidentEvents); }

std::optional<IncidentState> next(IncidentState s, IncidentEvent e) {
  using S = IncidentState;
  using E = IncidentEvent;
  switch (s) {
    case S::received:
    case S::assessed:
      switch (e) {
        case E::assess: return S::assessed;
        case E::dispatch: return S::dispatched;
        case E::cancel: return S::cancelled;
        case E::divert: return S::diverted;
        default: return std::nullopt;
      }
    case S::dispatched:
      switch (e) {
        case E::dispatch: return S::dispatched;
        case E::arrive: return S::on_scene;
        case E::resolve: return S::resolved;  // settled before arrival (e.g. by phone)
        case E::cancel: return S::cancelled;
        default: return std::nullopt;
      }
    case S::on_scene:
      switch (e) {
        case E::dispatch:
        case E::arrive: return S::on_scene;
        case E::resolve: return S::resolved;
        default: return std::nullopt;
      }
    case S::resolved:
      return e == E::close ? std::optional(S::closed) : std::nullopt;
    case S::diverted:
      return e == E::reclaim ? std::optional(S::assessed) : std::nullopt;
    case S::closed:
    case S::cancelled:
    case S::count_:
      return std::nullopt;
  }
  return std::nullopt;
}

bool is_final(IncidentState s) { return s == IncidentState::closed || s == IncidentState::cancelled; }

bool is_open(IncidentState s) {
  return s == IncidentState::received || s == IncidentState::assessed || s == IncidentState::dispatched ||
         s == IncidentState::on_scene;
}

const char* name(OrderState s) { return name_of(s, kOrderStates); }
const char* name(OrderEvent e) { return name_of(e, kOrderEvents); }
std::optional<OrderState> parse_order_state(std::string_view s) { return parse_of<OrderState>(s, kOrderStates); }
std::optional<OrderEvent> parse_order_event(std::string_view s) { return parse_of<OrderEvent>(s, kOrderEvents); }

std::optional<OrderState> next(OrderState s, OrderEvent e) {
  using S = OrderState;
  using E = OrderEvent;
  if (is_ended(s) || s == S::count_) return std::nullopt;
  const int rank = static_cast<int>(s);  // issued 0 .. on_scene 3
  switch (e) {
    case E::ack: return rank < 1 ? std::optional(S::acknowledged) : std::nullopt;
    case E::en_route: return rank < 2 ? std::optional(S::en_route) : std::nullopt;
    case E::on_scene: return rank < 3 ? std::optional(S::on_scene) : std::nullopt;
    case E::complete: return S::completed;  // done from any live state (a video check needs no trip)
    case E::decline: return rank < 3 ? std::optional(S::declined) : std::nullopt;
    case E::reassign: return S::reassigned;
    case E::count_: return std::nullopt;
  }
  return std::nullopt;
}

bool is_ended(OrderState s) {
  return s == OrderState::completed || s == OrderState::declined || s == OrderState::reassigned;
}

const char* name(SupportState s) { return name_of(s, kSupportStates); }
const char* name(SupportEvent e) { return name_of(e, kSupportEvents); }
std::optional<SupportState> parse_support_state(std::string_view s) { return parse_of<SupportState>(s, kSupportStates); }
std::optional<SupportEvent> parse_support_event(std::string_view s) { return parse_of<SupportEvent>(s, kSupportEvents); }

std::optional<SupportState> next(SupportState s, SupportEvent e) {
  using S = SupportState;
  using E = SupportEvent;
  if (s == S::requested && e == E::accept) return S::accepted;
  if (s == S::requested && e == E::reject) return S::rejected;
  if (s == S::accepted && e == E::answer) return S::answered;
  if (s == S::answered && e == E::answer) return S::answered;  // a further answer
  if (s == S::answered && e == E::close) return S::closed;
  return std::nullopt;
}

const char* name(DiversionState s) { return name_of(s, kDiversionStates); }
const char* name(DiversionEvent e) { return name_of(e, kDiversionEvents); }
std::optional<DiversionState> parse_diversion_state(std::string_view s) {
  return parse_of<DiversionState>(s, kDiversionStates);
}
std::optional<DiversionEvent> parse_diversion_event(std::string_view s) {
  return parse_of<DiversionEvent>(s, kDiversionEvents);
}

std::optional<DiversionState> next(DiversionState s, DiversionEvent e) {
  using S = DiversionState;
  using E = DiversionEvent;
  if (s == S::sent && e == E::accept) return S::accepted;
  if (s == S::sent && e == E::reject) return S::rejected;
  if (s == S::accepted && e == E::done) return S::done;
  return std::nullopt;
}

std::optional<AreaType> parse_area_type(std::string_view s) {
  if (s == "urban") return AreaType::urban;
  if (s == "suburban") return AreaType::suburban;
  if (s == "rural") return AreaType::rural;
  return std::nullopt;
}

const char* name(DeadlineKind k) { return name_of(k, kDeadlineKinds); }

int deadline_seconds(const DeadlinePolicy& p, DeadlineKind k, int priority, std::optional<AreaType> area, bool support) {
  const auto pi = static_cast<std::size_t>(std::clamp(priority, 1, 4) - 1);
  switch (k) {
    case DeadlineKind::acknowledge: return p.acknowledge_s[pi];
    case DeadlineKind::arrive: {
      const auto base = p.arrive_s[static_cast<std::size_t>(area.value_or(AreaType::urban))];
      return static_cast<int>((static_cast<long long>(base) * p.arrive_pct[pi] + 50) / 100);
    }
    case DeadlineKind::feedback: return p.feedback_s;
    case DeadlineKind::accept: return support ? p.support_accept_s : p.diversion_accept_s;
    case DeadlineKind::answer: return p.support_answer_s;
    case DeadlineKind::done: return p.diversion_done_s;
  }
  return p.feedback_s;
}

}  // namespace xiaonao::domain::loop
