// The map: the county's own GeoJSON as the base (zones, grids, stations, cameras with their
// field-of-view wedges, alarm-pillar markers), units coloured by status and moving live,
// incidents by priority. A canvas renderer keeps 500 incidents and 300 moving units cheap.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { categoryName, label, t } from './i18n.js';

export const PRIORITY_COLORS = { 1: '#d7191c', 2: '#fd8d3c', 3: '#e6c200', 4: '#3182bd' };
export const UNIT_COLORS = { available: '#1a9641', busy: '#d7191c', off_duty: '#888888', out_of_service: '#444444' };
const AREA_COLORS = { urban: '#6a51a3', suburban: '#2b8cbe', rural: '#41ab5d' };

/** The server refuses map boxes over units.map_max_area_km2 (2,500 km²): stay under it. */
const MAX_AREA_KM2 = 2400;

/** Approximate area of a lon/lat box in km². */
export function bboxAreaKm2(minLon, minLat, maxLon, maxLat) {
  const midLat = ((minLat + maxLat) / 2) * Math.PI / 180;
  return (maxLat - minLat) * 111.32 * (maxLon - minLon) * 111.32 * Math.cos(midLat);
}

/** The view's box, shrunk around its centre until the server will accept it. */
export function requestBox(b) {
  let [minLon, minLat, maxLon, maxLat] = b;
  minLon = Math.max(-180, minLon); maxLon = Math.min(180, maxLon);
  minLat = Math.max(-90, minLat); maxLat = Math.min(90, maxLat);
  const area = bboxAreaKm2(minLon, minLat, maxLon, maxLat);
  if (area > MAX_AREA_KM2) {
    const f = Math.sqrt(MAX_AREA_KM2 / area);
    const cx = (minLon + maxLon) / 2, cy = (minLat + maxLat) / 2;
    const hw = ((maxLon - minLon) / 2) * f, hh = ((maxLat - minLat) / 2) * f;
    [minLon, minLat, maxLon, maxLat] = [cx - hw, cy - hh, cx + hw, cy + hh];
  }
  return [minLon, minLat, maxLon, maxLat].map((v) => Number(v.toFixed(6)));
}

/** The camera's field of view as a polygon ring [[lat, lon], ...] (a dome: a full circle). */
export function wedge(lon, lat, bearingDeg, fovDeg, rangeM) {
  const r = rangeM || 100;
  const mPerDegLat = 111320;
  const mPerDegLon = 111320 * Math.cos(lat * Math.PI / 180);
  const pts = [];
  const dome = bearingDeg === null || bearingDeg === undefined || !fovDeg || fovDeg >= 360;
  const from = dome ? 0 : bearingDeg - fovDeg / 2;
  const to = dome ? 360 : bearingDeg + fovDeg / 2;
  if (!dome) pts.push([lat, lon]);
  const steps = dome ? 24 : Math.max(4, Math.ceil((to - from) / 10));
  for (let i = 0; i <= steps; i++) {
    const a = (from + (to - from) * (i / steps)) * Math.PI / 180;
    pts.push([lat + (Math.cos(a) * r) / mPerDegLat, lon + (Math.sin(a) * r) / mPerDegLon]);
  }
  return pts;
}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

export class ConsoleMap {
  constructor(el, { api, tileUrl, onSelectIncident, onPick }) {
    this.api = api;
    this.onSelectIncident = onSelectIncident;
    this.onPick = onPick;
    this.picking = false;
    this.map = L.map(el, { preferCanvas: true, zoomControl: true, attributionControl: false, zoomSnap: 0.5 });
    // Two canvases: a moving unit redraws the live one (units and incidents) only, not the
    // zones, grids and camera wedges beneath it. Only the top canvas can take pointer events
    // (Leaflet hands a canvas's events to its own layers only), so the base and the highlight
    // are drawn without them and the live one holds everything clickable.
    for (const [name, z, events] of [['xnBase', 410, false], ['xnLive', 430, true], ['xnHighlight', 440, false]]) {
      const pane = this.map.createPane(name);
      pane.style.zIndex = String(z);
      if (!events) pane.style.pointerEvents = 'none';
    }
    this.renderer = L.canvas({ padding: 0.3, pane: 'xnBase' });
    this.incidentRenderer = L.canvas({ padding: 0.3, pane: 'xnLive' });
    this.unitRenderer = this.incidentRenderer;
    this.highlightRenderer = L.canvas({ padding: 0.3, pane: 'xnHighlight' });
    if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(this.map);
    this.layers = {
      zones: L.layerGroup().addTo(this.map),
      grids: L.layerGroup().addTo(this.map),
      cameras: L.layerGroup().addTo(this.map),
      markers: L.layerGroup().addTo(this.map),
      stations: L.layerGroup().addTo(this.map),
      incidents: L.layerGroup().addTo(this.map),
      units: L.layerGroup().addTo(this.map),
      highlight: L.layerGroup().addTo(this.map),
    };
    L.control.layers(null, {
      [t('map.zones')]: this.layers.zones,
      [t('map.grids')]: this.layers.grids,
      [t('map.cameras')]: this.layers.cameras,
      [t('map.markers')]: this.layers.markers,
      [t('map.units')]: this.layers.units,
      [t('map.incidents')]: this.layers.incidents,
    }, { collapsed: true }).addTo(this.map);
    L.control.scale({ imperial: false }).addTo(this.map);
    this.cameraPos = new Map();   // id → {lat, lon, props}
    this.unitMarkers = new Map(); // id → circleMarker
    this.unitData = new Map();    // id → unit
    this.incidentMarkers = new Map();
    this.selectedId = null;
    this.baseTimer = null;
    this.baseSeq = 0;
    this.map.on('moveend', () => this.scheduleBase());
    this.map.on('click', (e) => {
      if (!this.picking) return;
      this.setPicking(false);
      this.onPick?.(e.latlng.lat, e.latlng.lng);
    });
    this.map.setView([28.45, 119.9], 13);
  }

  setPicking(on) {
    this.picking = on;
    this.map.getContainer().classList.toggle('picking', on);
  }

  fitTo(points) {
    const pts = points.filter((p) => p && Number.isFinite(p.lat) && Number.isFinite(p.lon));
    if (!pts.length) return false;
    const b = L.latLngBounds(pts.map((p) => [p.lat, p.lon]));
    this.map.fitBounds(b.pad(0.15), { maxZoom: 15 });
    return true;
  }

  scheduleBase() {
    clearTimeout(this.baseTimer);
    this.baseTimer = setTimeout(() => this.loadBase(), 250);
  }

  /** Zones, grids, stations, cameras and markers for the visible box (GET /api/v1/map). */
  async loadBase() {
    const seq = ++this.baseSeq;
    const b = this.map.getBounds();
    const box = requestBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
    const zoom = this.map.getZoom();
    // Zoomed out: simpler polygons, no grids or cameras (thousands of them say nothing there).
    const layers = zoom >= 13 ? 'stations,zones,grids,cameras,markers' : 'stations,zones';
    const simplify = zoom >= 15 ? 0 : zoom >= 13 ? 10 : 40;
    let fc;
    try {
      fc = await this.api.get(`/api/v1/map?bbox=${box.join(',')}&layers=${layers}&simplify=${simplify}`);
    } catch {
      return;
    }
    if (seq !== this.baseSeq) return; // a newer request is on its way
    for (const k of ['zones', 'grids', 'cameras', 'markers', 'stations']) this.layers[k].clearLayers();
    for (const f of fc.features || []) this.addBaseFeature(f);
    this.drawHighlight();
  }

  addBaseFeature(f) {
    const p = f.properties || {};
    const r = this.renderer;
    if (p.layer === 'zones') {
      const color = AREA_COLORS[p.area_type] || '#6a51a3';
      L.geoJSON(f, { renderer: r, interactive: false, style: { color, weight: 2, fillOpacity: 0.06, fillColor: color } })
        .addTo(this.layers.zones);
      const c = L.geoJSON(f).getBounds().getCenter();
      L.marker(c, { interactive: false, icon: L.divIcon({ className: 'zone-label', html: esc(p.name), iconSize: null }) })
        .addTo(this.layers.zones);
    } else if (p.layer === 'grids') {
      L.geoJSON(f, { renderer: r, interactive: false, style: { color: '#999', weight: 1, dashArray: '3 3', fill: false } })
        .addTo(this.layers.grids);
    } else if (p.layer === 'cameras') {
      const [lon, lat] = f.geometry.coordinates;
      this.cameraPos.set(p.id, { lat, lon, props: p });
      L.polygon(wedge(lon, lat, p.bearing_deg, p.fov_deg, p.range_m), {
        renderer: r, interactive: false, stroke: false, fillColor: p.online ? '#4a90d9' : '#999', fillOpacity: 0.12,
      }).addTo(this.layers.cameras);
      L.circleMarker([lat, lon], { renderer: r, interactive: false, radius: 3, color: p.online ? '#1f5fa8' : '#777', weight: 1, fillOpacity: 1 })
        .addTo(this.layers.cameras);
    } else if (p.layer === 'markers') {
      const [lon, lat] = f.geometry.coordinates;
      // Alarm pillars (一键报警柱): a DOM marker, so that it keeps its tooltip above the canvases.
      L.marker([lat, lon], { icon: L.divIcon({ className: 'pillar-icon', html: '柱', iconSize: [14, 14] }) })
        .bindTooltip(`${t('map.markers')} ${esc(p.id)} ${esc(p.description || '')}`).addTo(this.layers.markers);
    } else if (p.layer === 'stations') {
      const [lon, lat] = f.geometry.coordinates;
      L.marker([lat, lon], { icon: L.divIcon({ className: 'station-icon', html: '警', iconSize: [18, 18] }) })
        .bindTooltip(esc(p.name)).addTo(this.layers.stations);
    }
  }

  /** Units from GET /api/v1/units: moves the ones that moved, recolours, adds and removes. */
  setUnits(items) {
    const seen = new Set();
    for (const u of items) {
      if (!u.position) continue;
      seen.add(u.id);
      this.unitData.set(u.id, u);
      const ll = [u.position.lat, u.position.lon];
      const color = UNIT_COLORS[u.status] || '#333';
      let m = this.unitMarkers.get(u.id);
      if (!m) {
        m = L.circleMarker(ll, { renderer: this.unitRenderer, radius: 6, color: '#fff', weight: 2, fillColor: color, fillOpacity: 1 });
        m.bindTooltip(() => this.unitTooltip(u.id));
        m.addTo(this.layers.units);
        this.unitMarkers.set(u.id, m);
      } else {
        const cur = m.getLatLng();
        if (cur.lat !== ll[0] || cur.lng !== ll[1]) m.setLatLng(ll);
        if (m.options.fillColor !== color) m.setStyle({ fillColor: color });
      }
    }
    for (const [id, m] of this.unitMarkers) {
      if (!seen.has(id)) {
        m.remove();
        this.unitMarkers.delete(id);
        this.unitData.delete(id);
      }
    }
    this.drawHighlight();
  }

  unitTooltip(id) {
    const u = this.unitData.get(id);
    if (!u) return id;
    return `${esc(u.call_sign || u.id)} · ${esc(label('kind', u.kind))} · ${esc(label('unit', u.status))}`;
  }

  /** A unit.status event: recolour at once (positions come with the next poll). */
  setUnitStatus(id, status) {
    const u = this.unitData.get(id);
    if (u) u.status = status;
    const m = this.unitMarkers.get(id);
    if (m) m.setStyle({ fillColor: UNIT_COLORS[status] || '#333' });
  }

  /** The open incidents (the queue's items) as markers by priority. */
  setIncidents(items) {
    const seen = new Set();
    for (const inc of items) {
      if (!inc.location) continue;
      seen.add(inc.id);
      const ll = [inc.location.lat, inc.location.lon];
      const color = PRIORITY_COLORS[inc.priority] || '#3182bd';
      const radius = 11 - 1.5 * (inc.priority || 4);
      let m = this.incidentMarkers.get(inc.id);
      if (!m) {
        m = L.circleMarker(ll, { renderer: this.incidentRenderer, radius, color: '#222', weight: 1, fillColor: color, fillOpacity: 0.9 });
        m.on('click', (e) => {
          L.DomEvent.stopPropagation(e);
          if (!this.picking) {
            this.onSelectIncident?.(inc.id);
            return;
          }
          // Picking a location on top of an incident marker still picks that spot.
          this.setPicking(false);
          this.onPick?.(e.latlng.lat, e.latlng.lng);
        });
        m.addTo(this.layers.incidents);
        this.incidentMarkers.set(inc.id, m);
      } else {
        const cur = m.getLatLng();
        if (cur.lat !== ll[0] || cur.lng !== ll[1]) m.setLatLng(ll);
        if (m.options.fillColor !== color || m.options.radius !== radius) m.setStyle({ fillColor: color, radius });
      }
      const tip = `${esc(inc.number)} ${esc(categoryName(inc.category))} · ${esc(label('status', inc.status))}`;
      if (m.xnTip !== tip) {
        if (m.xnTip === undefined) m.bindTooltip(tip); else m.setTooltipContent(tip);
        m.xnTip = tip;
      }
    }
    for (const [id, m] of this.incidentMarkers) {
      if (!seen.has(id)) {
        m.remove();
        this.incidentMarkers.delete(id);
      }
    }
  }

  /** Highlights the selected incident's fused items: its cameras, its units with distance lines. */
  select(view) {
    this.selected = view;
    this.drawHighlight();
    const p = view?.location?.point;
    if (p) this.map.panTo([p.lat, p.lon], { animate: false });
  }

  drawHighlight() {
    const h = this.layers.highlight;
    h.clearLayers();
    const v = this.selected;
    if (!v) return;
    const p = v.location?.point;
    if (!p) return;
    const at = [p.lat, p.lon];
    for (const c of v.cameras || []) {
      const pos = this.cameraPos.get(c.id);
      if (!pos) continue;
      L.polygon(wedge(pos.lon, pos.lat, c.bearing_deg, c.fov_deg, c.range_m), {
        renderer: this.highlightRenderer, interactive: false, color: '#1f5fa8', weight: 1, fillColor: '#4a90d9', fillOpacity: 0.35,
      }).addTo(h);
    }
    for (const u of v.units || []) {
      const m = this.unitMarkers.get(u.id);
      if (!m) continue;
      const ll = m.getLatLng();
      L.polyline([at, ll], { renderer: this.highlightRenderer, interactive: false, color: '#1a9641', weight: 2, dashArray: '6 4' }).addTo(h);
      L.marker([(at[0] + ll.lat) / 2, (at[1] + ll.lng) / 2], {
        interactive: false, pane: 'xnHighlight',
        icon: L.divIcon({ className: 'distance-label', html: `${esc(u.call_sign || u.id)} ${Math.round(u.distance_m)} m`, iconSize: null }),
      }).addTo(h);
    }
    L.circleMarker(at, { renderer: this.highlightRenderer, interactive: false, radius: 16, color: '#d7191c', weight: 3, fill: false }).addTo(h);
  }

  invalidate() { this.map.invalidateSize(); }
}
