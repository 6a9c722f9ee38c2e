DROP TABLE placements;
DROP TABLE escape_point_languages;
DROP TABLE escape_points;
