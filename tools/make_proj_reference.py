#!/usr/bin/env python3
"""Reference points for grid's coordinate tests, computed by independent tools.

UTM easting/northing come from PROJ (through pyproj, EPSG:32651 = WGS 84 / UTM 51N, and EPSG:32650 for the
zone-override rows); MGRS references at 1 m come from the `mgrs` package (NGA's GeoTrans C code).

    pip install pyproj==3.7.2 mgrs==1.6.0
    python3 tools/make_proj_reference.py > grid/tests/data/proj_reference.csv

Points: a regular lattice over the shipped network's bounding box (with a 2 km margin) and a fixed
random sample of the network's vertices.
"""
import json
import random
import sys

import mgrs
import pyproj

ROADS = "data/hangzhou/roads.geojson"


def main():
    with open(ROADS, encoding="utf-8") as f:
        features = json.load(f)["features"]
    vertices = [tuple(p) for feat in features for p in feat["geometry"]["coordinates"]]
    lons = [v[0] for v in vertices]
    lats = [v[1] for v in vertices]
    margin = 0.02
    west, east = min(lons) - margin, max(lons) + margin
    south, north = min(lats) - margin, max(lats) + margin

    points = []
    steps = 30
    for i in range(steps + 1):
        for j in range(steps + 1):
            points.append((south + (north - south) * i / steps, west + (east - west) * j / steps))
    rng = random.Random(20261122)
    points += [(lat, lon) for lon, lat in rng.sample(vertices, 1000)]

    to_utm = {
        "51N": pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True),
        "50N": pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True),
    }
    m = mgrs.MGRS()
    out = sys.stdout
    out.write("zone,lat,lon,easting,northing,mgrs\n")
    for index, (lat, lon) in enumerate(points):
        # Every fifth point is also given in the neighbouring zone, to test a forced zone.
        zones = ["51N", "50N"] if index % 5 == 0 else ["51N"]
        for zone in zones:
            easting, northing = to_utm[zone].transform(lon, lat)
            reference = m.toMGRS(lat, lon, MGRSPrecision=5) if zone == "51N" else ""
            if isinstance(reference, bytes):
                reference = reference.decode()
            out.write(f"{zone},{lat:.9f},{lon:.9f},{easting:.6f},{northing:.6f},{reference}\n")


if __name__ == "__main__":
    main()
