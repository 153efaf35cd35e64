<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
  <context>
    <name>AcvGeo</name>
    <message>
      <source>ACV diagnostics</source>
      <translation>Diagnostics ACV</translation>
    </message>
    <message>
      <source>&lt;p&gt;&lt;i&gt;Runs &lt;code&gt;acv-geo {}&lt;/code&gt; in its own Python process.&lt;/i&gt;&lt;/p&gt;</source>
      <translation>&lt;p&gt;&lt;i&gt;Exécute &lt;code&gt;acv-geo {}&lt;/code&gt; dans son propre processus Python.&lt;/i&gt;&lt;/p&gt;</translation>
    </message>
    <message>
      <source>{}: the layer has no CRS, so acv-geo cannot tell where it lies. In QGIS: set the layer's CRS (Layer Properties › Source › Assigned CRS) or run Vector general › Assign projection, then run again.</source>
      <translation>{} : la couche n'a pas de SCR, acv-geo ne peut donc pas savoir où elle se trouve. Dans QGIS : définissez le SCR de la couche (Propriétés de la couche › Source › SCR assigné) ou lancez Outils généraux pour les vecteurs › Assigner une projection, puis relancez.</translation>
    </message>
    <message>
      <source>Load ACV cities (with open-data status)</source>
      <translation>Charger les villes ACV (avec leur statut open data)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Loads the towns of the Action Cœur de Ville programme as a point layer (EPSG:4326, true positions, overseas towns included), one feature per town keyed by &lt;b&gt;insee_com&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;&lt;b&gt;ACV list&lt;/b&gt;: empty for the embedded ANCT list (244 towns), or a Caisse des Dépôts / ANCT export (CSV, Excel, JSON/GeoJSON, GeoPackage…). Broken exports are repaired and every repair is listed in the log; what cannot be repaired stops with a message naming the row and column.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Open-data status&lt;/b&gt; (opendata, opendata_com, opendata_epci, opendata_level): kept from the CDC export when it has it; otherwise derived from the OpenDataFrance observatory.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Charge les villes du programme Action Cœur de Ville en couche de points (EPSG:4326, positions réelles, outre-mer compris), une entité par ville identifiée par &lt;b&gt;insee_com&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Liste ACV&lt;/b&gt; : vide pour la liste ANCT intégrée (244 villes), ou un export Caisse des Dépôts / ANCT (CSV, Excel, JSON/GeoJSON, GeoPackage…). Les exports abîmés sont réparés et chaque réparation est listée dans le journal ; ce qui ne peut être réparé arrête le traitement avec un message qui nomme la ligne et la colonne.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Statut open data&lt;/b&gt; (opendata, opendata_com, opendata_epci, opendata_level) : repris de l'export CDC s'il le contient, sinon déduit de l'observatoire OpenDataFrance.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>ACV list (CDC or ANCT export; empty: embedded ANCT list)</source>
      <translation>Liste ACV (export CDC ou ANCT ; vide : liste ANCT intégrée)</translation>
    </message>
    <message>
      <source>OpenDataFrance observatory export (empty: embedded ODATER 2022-12-31)</source>
      <translation>Export de l'observatoire OpenDataFrance (vide : ODATER 2022-12-31 intégré)</translation>
    </message>
    <message>
      <source>Derive the open-data status from the observatory when the list has none</source>
      <translation>Déduire le statut open data de l'observatoire quand la liste n'en a pas</translation>
    </message>
    <message>
      <source>ACV cities</source>
      <translation>Villes ACV</translation>
    </message>
    <message>
      <source>Number of cities</source>
      <translation>Nombre de villes</translation>
    </message>
    <message>
      <source>Cities publishing open data</source>
      <translation>Villes qui publient des données ouvertes</translation>
    </message>
    <message>
      <source>Repairs made while reading</source>
      <translation>Réparations faites à la lecture</translation>
    </message>
    <message>
      <source>Open-data clusters (LISA, Gi*, join counts)</source>
      <translation>Agrégats spatiaux de l'open data (LISA, Gi*, join counts)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Where are the towns that publish open data (or that share any indicator) clustered? Runs a local spatial statistic on a city variable with conditional permutations (esda) and labels each city: &lt;b&gt;HH&lt;/b&gt;, &lt;b&gt;LL&lt;/b&gt;, &lt;b&gt;HL&lt;/b&gt;, &lt;b&gt;LH&lt;/b&gt; (LISA), &lt;b&gt;hot&lt;/b&gt;/&lt;b&gt;cold&lt;/b&gt; (Gi*), &lt;b&gt;BB cluster&lt;/b&gt; (join counts), &lt;i&gt;not significant&lt;/i&gt;, &lt;i&gt;isolated&lt;/i&gt; (no neighbour) or &lt;i&gt;NA&lt;/i&gt; (no value: excluded, never zero-filled). No neighbour link crosses territories (mainland, each overseas department).&lt;/p&gt;</source>
      <translation>&lt;p&gt;Où se regroupent les villes qui publient des données ouvertes (ou qui partagent un indicateur) ? Calcule une statistique spatiale locale d'une variable des villes par permutations conditionnelles (esda) et étiquette chaque ville : &lt;b&gt;HH&lt;/b&gt;, &lt;b&gt;LL&lt;/b&gt;, &lt;b&gt;HL&lt;/b&gt;, &lt;b&gt;LH&lt;/b&gt; (LISA), &lt;b&gt;hot&lt;/b&gt;/&lt;b&gt;cold&lt;/b&gt; (Gi*), &lt;b&gt;BB cluster&lt;/b&gt; (join counts), &lt;i&gt;not significant&lt;/i&gt; (non significatif), &lt;i&gt;isolated&lt;/i&gt; (sans voisin) ou &lt;i&gt;NA&lt;/i&gt; (pas de valeur : exclue, jamais remplacée par 0). Aucun lien de voisinage ne franchit un territoire (métropole, chaque département d'outre-mer).&lt;/p&gt;</translation>
    </message>
    <message>
      <source>Variable (field of the cities, e.g. opendata or an indicator)</source>
      <translation>Variable (champ des villes, p. ex. opendata ou un indicateur)</translation>
    </message>
    <message>
      <source>Permutations</source>
      <translation>Permutations</translation>
    </message>
    <message>
      <source>Random seed</source>
      <translation>Graine aléatoire</translation>
    </message>
    <message>
      <source>Significance level (alpha)</source>
      <translation>Seuil de significativité (alpha)</translation>
    </message>
    <message>
      <source>Alternative hypothesis</source>
      <translation>Hypothèse alternative</translation>
    </message>
    <message>
      <source>Label with FDR-adjusted p-values (Benjamini-Hochberg)</source>
      <translation>Étiqueter avec les p-valeurs corrigées FDR (Benjamini-Hochberg)</translation>
    </message>
    <message>
      <source>Statistic</source>
      <translation>Statistique</translation>
    </message>
    <message>
      <source>Cluster map</source>
      <translation>Carte des agrégats</translation>
    </message>
    <message>
      <source>Units in a significant cluster</source>
      <translation>Unités dans un agrégat significatif</translation>
    </message>
    <message>
      <source>Full diagnostic (indicators, clusters, maps, report)</source>
      <translation>Diagnostic complet (indicateurs, agrégats, cartes, rapport)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Runs the whole acv-geo diagnostic and writes, into the output folder: &lt;b&gt;cities.gpkg&lt;/b&gt; (every city with its open-data status, every indicator and its cluster label; layer &lt;i&gt;epci&lt;/i&gt;), &lt;b&gt;indicators.csv&lt;/b&gt; and &lt;b&gt;.parquet&lt;/b&gt;, &lt;b&gt;indicators.metadata.csv&lt;/b&gt;, &lt;b&gt;clusters.json&lt;/b&gt;, &lt;b&gt;maps/*.png&lt;/b&gt; and &lt;b&gt;report.html&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Without a &lt;b&gt;configuration&lt;/b&gt; it runs on the embedded real data. &lt;b&gt;Permutations&lt;/b&gt; overrides the configuration's (99 for a quick look, 9,999 for publication).&lt;/p&gt;&lt;p&gt;&lt;b&gt;Web services&lt;/b&gt; (online, answers kept in the cache, so a second run works offline): the protected and inventoried nature of every town (ZNIEFF, Natura 2000, parks, reserves; IGN API Carto) and its risks per commune (clay, prevention plans, flood atlases, CatNat; Géorisques API).&lt;/p&gt;&lt;p&gt;The folder is replaced atomically: a failed or cancelled run leaves the previous outputs intact.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Exécute tout le diagnostic acv-geo et écrit dans le dossier de sortie : &lt;b&gt;cities.gpkg&lt;/b&gt; (chaque ville avec son statut open data, chaque indicateur et son étiquette d'agrégat ; couche &lt;i&gt;epci&lt;/i&gt;), &lt;b&gt;indicators.csv&lt;/b&gt; et &lt;b&gt;.parquet&lt;/b&gt;, &lt;b&gt;indicators.metadata.csv&lt;/b&gt;, &lt;b&gt;clusters.json&lt;/b&gt;, &lt;b&gt;maps/*.png&lt;/b&gt; et &lt;b&gt;report.html&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Sans &lt;b&gt;configuration&lt;/b&gt;, il utilise les données réelles intégrées. &lt;b&gt;Permutations&lt;/b&gt; remplace la valeur de la configuration (99 pour un aperçu, 9 999 pour publier).&lt;/p&gt;&lt;p&gt;&lt;b&gt;Services web&lt;/b&gt; (en ligne, réponses gardées en cache : une deuxième exécution fonctionne hors ligne) : la nature protégée et inventoriée de chaque ville (ZNIEFF, Natura 2000, parcs, réserves ; API Carto de l'IGN) et ses risques par commune (argiles, plans de prévention, atlas des zones inondables, CatNat ; API Géorisques).&lt;/p&gt;&lt;p&gt;Le dossier est remplacé d'un bloc : un traitement échoué ou annulé laisse les résultats précédents intacts.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>ACV diagnostic (cities)</source>
      <translation>Diagnostic ACV (villes)</translation>
    </message>
    <message>
      <source>Configuration (TOML; empty: the embedded default)</source>
      <translation>Configuration (TOML ; vide : configuration intégrée)</translation>
    </message>
    <message>
      <source>Permutations of the cluster tests (0: the configuration's)</source>
      <translation>Permutations des tests d'agrégats (0 : celles de la configuration)</translation>
    </message>
    <message>
      <source>Web services (online)</source>
      <translation>Services web (en ligne)</translation>
    </message>
    <message>
      <source>Web services: use only the answers already in the cache</source>
      <translation>Services web : n'utiliser que les réponses déjà en cache</translation>
    </message>
    <message>
      <source>Output folder</source>
      <translation>Dossier de sortie</translation>
    </message>
    <message>
      <source>Cities with every indicator</source>
      <translation>Villes avec tous les indicateurs</translation>
    </message>
    <message>
      <source>Diagnostic report</source>
      <translation>Rapport de diagnostic</translation>
    </message>
    <message>
      <source>Cities</source>
      <translation>Villes</translation>
    </message>
    <message>
      <source>Warnings of the run (one per line)</source>
      <translation>Avertissements de l'exécution (un par ligne)</translation>
    </message>
    <message>
      <source>Protected nature (IGN API Carto)</source>
      <translation>Nature protégée (API Carto de l'IGN)</translation>
    </message>
    <message>
      <source>Risks per commune (Géorisques API)</source>
      <translation>Risques par commune (API Géorisques)</translation>
    </message>
    <message>
      <source>Download official layers (Géorisques, INPN, IGN…)</source>
      <translation>Télécharger les couches officielles (Géorisques, INPN, IGN…)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Downloads official national layers and tables of the acv-geo catalogue into the cache folder (resumable, checksummed, archives extracted safely, fields checked). Sources published per department take the &lt;b&gt;department&lt;/b&gt; code (e.g. 34). The log lists the files, ready to add to the map or to use in the other algorithms.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Télécharge les couches et tables nationales officielles du catalogue acv-geo dans le dossier de cache (reprise possible, sommes de contrôle, archives extraites en sécurité, champs vérifiés). Les sources publiées par département demandent le code du &lt;b&gt;département&lt;/b&gt; (p. ex. 34). Le journal liste les fichiers, prêts à ajouter à la carte ou à utiliser dans les autres algorithmes.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>Sources</source>
      <translation>Sources</translation>
    </message>
    <message>
      <source>Department code for sources published per department (e.g. 34)</source>
      <translation>Code du département pour les sources publiées par département (p. ex. 34)</translation>
    </message>
    <message>
      <source>Cache folder (empty: the acv-geo user cache)</source>
      <translation>Dossier de cache (vide : le cache utilisateur d'acv-geo)</translation>
    </message>
    <message>
      <source>Download again even if cached</source>
      <translation>Télécharger de nouveau même si déjà en cache</translation>
    </message>
    <message>
      <source>Use only the cache (offline)</source>
      <translation>Utiliser seulement le cache (hors ligne)</translation>
    </message>
    <message>
      <source>Cache folder</source>
      <translation>Dossier de cache</translation>
    </message>
    <message>
      <source>Files ready</source>
      <translation>Fichiers prêts</translation>
    </message>
    <message>
      <source>Choose at least one source.</source>
      <translation>Choisissez au moins une source.</translation>
    </message>
    <message>
      <source>{} is published per department: give the department code</source>
      <translation>{} est publiée par département : indiquez le code du département</translation>
    </message>
    <message>
      <source>Global spatial autocorrelation (Moran's I, join counts)</source>
      <translation>Autocorrélation spatiale globale (I de Moran, join counts)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Global tests of spatial autocorrelation of a city variable: &lt;b&gt;Moran's I&lt;/b&gt; and, for a yes/no variable such as opendata, &lt;b&gt;join counts&lt;/b&gt; (BB, BW, WW) with permutation p-values (esda). Written as an HTML page (opened in the results viewer) and as JSON.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Tests globaux d'autocorrélation spatiale d'une variable des villes : &lt;b&gt;I de Moran&lt;/b&gt; et, pour une variable oui/non comme opendata, &lt;b&gt;join counts&lt;/b&gt; (BB, BW, WW), avec p-valeurs par permutations (esda). Écrits en page HTML (ouverte dans la visionneuse de résultats) et en JSON.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>Results (HTML)</source>
      <translation>Résultats (HTML)</translation>
    </message>
    <message>
      <source>Results (JSON)</source>
      <translation>Résultats (JSON)</translation>
    </message>
    <message>
      <source>Moran's I</source>
      <translation>I de Moran</translation>
    </message>
    <message>
      <source>Moran's I p-value (permutations)</source>
      <translation>p-valeur de l'I de Moran (permutations)</translation>
    </message>
    <message>
      <source>Install acv-geo</source>
      <translation>Installer acv-geo</translation>
    </message>
    <message>
      <source>Setup</source>
      <translation>Installation</translation>
    </message>
    <message>
      <source>&lt;p&gt;Creates the Python environment in which ACV Geo runs its analyses, in your QGIS profile folder (acv_geo/env), from the acv-geo package carried by the plugin and its dependencies from the Python package index (about 300 MB, a few minutes). QGIS's own Python is not modified, and the analyses run outside QGIS's process, so they cannot crash QGIS.&lt;/p&gt;&lt;p&gt;Run it again to repair or upgrade the environment. Without network access, the log gives the exact commands to run by hand.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Crée l'environnement Python dans lequel ACV Geo exécute ses analyses, dans le dossier de votre profil QGIS (acv_geo/env), à partir du paquet acv-geo fourni avec l'extension et de ses dépendances prises sur l'index des paquets Python (environ 300 Mo, quelques minutes). Le Python de QGIS n'est pas modifié et les analyses tournent hors du processus de QGIS : elles ne peuvent pas le faire planter.&lt;/p&gt;&lt;p&gt;Relancez-le pour réparer ou mettre à jour l'environnement. Sans accès au réseau, le journal donne les commandes exactes à lancer à la main.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>Package index URL (empty: pip's default)</source>
      <translation>URL de l'index des paquets (vide : celui de pip par défaut)</translation>
    </message>
    <message>
      <source>Python of the environment</source>
      <translation>Python de l'environnement</translation>
    </message>
    <message>
      <source>acv-geo {} is ready in {} ({} s)</source>
      <translation>acv-geo {} est prêt dans {} ({} s)</translation>
    </message>
    <message>
      <source>Overlay indicators (vector layer in each zone)</source>
      <translation>Indicateurs de superposition (couche vecteur dans chaque zone)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Measures a vector layer (risk zones, protected areas, flood marks…) in each zone — the commune or EPCI of each city, a buffer around it, each polygon of your own layer, or every EPCI — in the territory's projected CRS (Lambert-93 in mainland France, the local CRS overseas): area and share of the zone (&lt;i&gt;_area_m2&lt;/i&gt;, &lt;i&gt;_pct&lt;/i&gt;), length (&lt;i&gt;_length_m&lt;/i&gt;), count (&lt;i&gt;_count&lt;/i&gt;) and distance to the nearest feature (&lt;i&gt;_dist_m&lt;/i&gt;).&lt;/p&gt;&lt;p&gt;A &lt;b&gt;category field&lt;/b&gt; or a &lt;b&gt;preset&lt;/b&gt; adds the same measures per value. Only the selected features are used when 'Selected features only' is ticked. &lt;i&gt;_reason&lt;/i&gt; says why a value is missing.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Mesure une couche vecteur (zones de risque, espaces protégés, repères de crue…) dans chaque zone — la commune ou l'EPCI de chaque ville, un tampon autour d'elle, chaque polygone de votre couche, ou chaque EPCI — dans le SCR projeté du territoire (Lambert-93 en métropole, le SCR local outre-mer) : surface et part de la zone (&lt;i&gt;_area_m2&lt;/i&gt;, &lt;i&gt;_pct&lt;/i&gt;), longueur (&lt;i&gt;_length_m&lt;/i&gt;), nombre (&lt;i&gt;_count&lt;/i&gt;) et distance à l'entité la plus proche (&lt;i&gt;_dist_m&lt;/i&gt;).&lt;/p&gt;&lt;p&gt;Un &lt;b&gt;champ de catégorie&lt;/b&gt; ou un &lt;b&gt;préréglage&lt;/b&gt; ajoute les mêmes mesures par valeur. Seules les entités sélectionnées sont utilisées si « Entité(s) sélectionnée(s) uniquement » est coché. &lt;i&gt;_reason&lt;/i&gt; dit pourquoi une valeur manque.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>(none)</source>
      <translation>(aucun)</translation>
    </message>
    <message>
      <source>Layer to measure</source>
      <translation>Couche à mesurer</translation>
    </message>
    <message>
      <source>Category field (optional)</source>
      <translation>Champ de catégorie (facultatif)</translation>
    </message>
    <message>
      <source>Layer preset (category field, labels, source)</source>
      <translation>Préréglage de couche (champ de catégorie, libellés, source)</translation>
    </message>
    <message>
      <source>Column prefix (empty: preset name, else the layer name)</source>
      <translation>Préfixe des colonnes (vide : nom du préréglage, sinon nom de la couche)</translation>
    </message>
    <message>
      <source>Distances to the nearest feature</source>
      <translation>Distances à l'entité la plus proche</translation>
    </message>
    <message>
      <source>Coverage of the layer: department codes (e.g. 34,30) or national; empty: the departments its features fall in. Outside: no value, never 0</source>
      <translation>Couverture de la couche : codes de départements (p. ex. 34,30) ou national ; vide : les départements où se trouvent ses entités. En dehors : pas de valeur, jamais 0</translation>
    </message>
    <message>
      <source>Overlay indicators</source>
      <translation>Indicateurs de superposition</translation>
    </message>
    <message>
      <source>layer {!r}</source>
      <translation>couche {!r}</translation>
    </message>
    <message>
      <source>Commune polygon of each city</source>
      <translation>Polygone communal de chaque ville</translation>
    </message>
    <message>
      <source>EPCI polygon of each city</source>
      <translation>Polygone de l'EPCI de chaque ville</translation>
    </message>
    <message>
      <source>Buffer around each city point</source>
      <translation>Tampon autour du point de chaque ville</translation>
    </message>
    <message>
      <source>Each polygon of a layer (your communes, areas…)</source>
      <translation>Chaque polygone d'une couche (vos communes, vos zones…)</translation>
    </message>
    <message>
      <source>Every EPCI of France (1,255)</source>
      <translation>Tous les EPCI de France (1 255)</translation>
    </message>
    <message>
      <source>Their EPCIs (values aggregated)</source>
      <translation>Leurs EPCI (valeurs agrégées)</translation>
    </message>
    <message>
      <source>k nearest neighbours</source>
      <translation>k plus proches voisins</translation>
    </message>
    <message>
      <source>Distance band</source>
      <translation>Bande de distance</translation>
    </message>
    <message>
      <source>Queen contiguity (polygons)</source>
      <translation>Contiguïté reine (polygones)</translation>
    </message>
    <message>
      <source>Rook contiguity (polygons)</source>
      <translation>Contiguïté tour (polygones)</translation>
    </message>
    <message>
      <source>Buffer radius (metres)</source>
      <translation>Rayon du tampon (mètres)</translation>
    </message>
    <message>
      <source>Identifier field of the polygons (empty: INSEE or SIREN field found by name)</source>
      <translation>Champ identifiant des polygones (vide : champ INSEE ou SIREN trouvé par son nom)</translation>
    </message>
    <message>
      <source>Cities (layer with an insee_com field; empty: the 244 embedded ACV towns)</source>
      <translation>Villes (couche avec un champ insee_com ; vide : les 244 villes ACV intégrées)</translation>
    </message>
    <message>
      <source>Cities: the 244 embedded ACV towns</source>
      <translation>Villes : les 244 villes ACV intégrées</translation>
    </message>
    <message>
      <source>cities layer: no 'insee_com' field; use the output of 'Load ACV cities' or add the INSEE commune code as insee_com</source>
      <translation>couche des villes : pas de champ « insee_com » ; utilisez la sortie de « Charger les villes ACV » ou ajoutez le code INSEE de la commune dans un champ insee_com</translation>
    </message>
    <message>
      <source>cities layer</source>
      <translation>couche des villes</translation>
    </message>
    <message>
      <source>Zones</source>
      <translation>Zones</translation>
    </message>
    <message>
      <source>Polygon layer (for 'Each polygon of a layer')</source>
      <translation>Couche de polygones (pour « Chaque polygone d'une couche »)</translation>
    </message>
    <message>
      <source>polygon layer</source>
      <translation>couche de polygones</translation>
    </message>
    <message>
      <source>Spatial weights</source>
      <translation>Pondérations spatiales</translation>
    </message>
    <message>
      <source>Number of neighbours k (k nearest neighbours)</source>
      <translation>Nombre de voisins k (k plus proches voisins)</translation>
    </message>
    <message>
      <source>Distance band (metres)</source>
      <translation>Bande de distance (mètres)</translation>
    </message>
    <message>
      <source>Units</source>
      <translation>Unités</translation>
    </message>
    <message>
      <source>Zones 'Each polygon of a layer': choose the polygon layer</source>
      <translation>Zones « Chaque polygone d'une couche » : choisissez la couche de polygones</translation>
    </message>
    <message>
      <source>Exposure profile and ranking</source>
      <translation>Profil d'exposition et classement</translation>
    </message>
    <message>
      <source>&lt;p&gt;Scores every city from indicator layers (outputs of the overlay, zonal and tables algorithms, keyed by insee_com): each sub-score (risk, nature, open data) is the mean percentile rank of its indicator columns; the composite is their weighted mean, and &lt;b&gt;rank&lt;/b&gt; 1 is the most exposed. &lt;i&gt;profile_reason&lt;/i&gt; says which sub-scores a city lacks.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Note chaque ville à partir de couches d'indicateurs (sorties des algorithmes de superposition, zonal et tables, identifiées par insee_com) : chaque sous-score (risque, nature, open data) est le rang centile moyen de ses colonnes d'indicateurs ; le score composite est leur moyenne pondérée, et le &lt;b&gt;rang&lt;/b&gt; 1 est la ville la plus exposée. &lt;i&gt;profile_reason&lt;/i&gt; dit quels sous-scores manquent à une ville.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>risk</source>
      <translation>risque</translation>
    </message>
    <message>
      <source>nature</source>
      <translation>nature</translation>
    </message>
    <message>
      <source>opendata</source>
      <translation>open data</translation>
    </message>
    <message>
      <source>Indicator layers (keyed by insee_com)</source>
      <translation>Couches d'indicateurs (identifiées par insee_com)</translation>
    </message>
    <message>
      <source>Exposure profile</source>
      <translation>Profil d'exposition</translation>
    </message>
    <message>
      <source>Weight of the {} sub-score</source>
      <translation>Poids du sous-score {}</translation>
    </message>
    <message>
      <source>Per-commune tables (radon, CatNat, any CSV)</source>
      <translation>Tables communales (radon, CatNat, tout CSV)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Joins per-commune tables onto the cities by INSEE code: the IRSN &lt;b&gt;radon&lt;/b&gt; class (embedded), the &lt;b&gt;CatNat&lt;/b&gt; natural-disaster decrees (embedded extract: counts per peril, last year), and any &lt;b&gt;table&lt;/b&gt; (CSV, Excel, Parquet) with an INSEE code column. A city a table does not list gets no value (NULL) and a reason, never 0.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Joint aux villes des tables communales par code INSEE : la classe &lt;b&gt;radon&lt;/b&gt; de l'IRSN (intégrée), les arrêtés de catastrophe naturelle &lt;b&gt;CatNat&lt;/b&gt; (extrait intégré : nombres par péril, dernière année) et toute &lt;b&gt;table&lt;/b&gt; (CSV, Excel, Parquet) avec une colonne de code INSEE. Une ville absente d'une table n'a pas de valeur (NULL) et une raison, jamais 0.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>Radon class (IRSN)</source>
      <translation>Classe radon (IRSN)</translation>
    </message>
    <message>
      <source>CatNat decrees</source>
      <translation>Arrêtés CatNat</translation>
    </message>
    <message>
      <source>Seismic zone (décret 2010-1255)</source>
      <translation>Zone sismique (décret 2010-1255)</translation>
    </message>
    <message>
      <source>Natural risks known per commune (GASPAR DDRM)</source>
      <translation>Risques naturels connus par commune (GASPAR DDRM)</translation>
    </message>
    <message>
      <source>CatNat: only events from this year on (0: all)</source>
      <translation>CatNat : seulement les événements à partir de cette année (0 : tous)</translation>
    </message>
    <message>
      <source>CatNat: count refused decrees too</source>
      <translation>CatNat : compter aussi les demandes refusées</translation>
    </message>
    <message>
      <source>Other table with an INSEE code column (optional)</source>
      <translation>Autre table avec une colonne de code INSEE (facultatif)</translation>
    </message>
    <message>
      <source>INSEE code column of that table (empty: detected)</source>
      <translation>Colonne du code INSEE de cette table (vide : détectée)</translation>
    </message>
    <message>
      <source>Prefix of that table's columns (optional)</source>
      <translation>Préfixe des colonnes de cette table (facultatif)</translation>
    </message>
    <message>
      <source>Cities with the tables</source>
      <translation>Villes avec les tables</translation>
    </message>
    <message>
      <source>Nothing to join: tick radon, CatNat, the seismic zone or the known risks, or give a table.</source>
      <translation>Rien à joindre : cochez radon, CatNat, la zone sismique ou les risques connus, ou donnez une table.</translation>
    </message>
    <message>
      <source>Export spatial weights (GAL, CSV)</source>
      <translation>Exporter les pondérations spatiales (GAL, CSV)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Builds the spatial weights of the cities (or of their EPCIs) per territory in its projected CRS — k nearest neighbours or a distance band on the city points, queen or rook contiguity on the commune polygons — and writes them as a GeoDa &lt;b&gt;.gal&lt;/b&gt; file or a &lt;b&gt;.csv&lt;/b&gt; (focal, neighbor, weight).&lt;/p&gt;</source>
      <translation>&lt;p&gt;Construit les pondérations spatiales des villes (ou de leurs EPCI) par territoire dans son SCR projeté — k plus proches voisins ou bande de distance sur les points des villes, contiguïté reine ou tour sur les polygones communaux — et les écrit en fichier GeoDa &lt;b&gt;.gal&lt;/b&gt; ou en &lt;b&gt;.csv&lt;/b&gt; (focal, neighbor, weight).&lt;/p&gt;</translation>
    </message>
    <message>
      <source>Weights file</source>
      <translation>Fichier de pondérations</translation>
    </message>
    <message>
      <source>Units without neighbour</source>
      <translation>Unités sans voisin</translation>
    </message>
    <message>
      <source>Zonal indicators (raster statistics in each zone)</source>
      <translation>Indicateurs zonaux (statistiques raster dans chaque zone)</translation>
    </message>
    <message>
      <source>&lt;p&gt;Summarises a raster (elevation, land cover, hazard grid) inside each zone with exact partial-pixel coverage (exactextract); nodata is masked. &lt;b&gt;Statistics&lt;/b&gt;: count, sum, mean, min, max, std, median, majority, minority, variety, coverage_pct. &lt;b&gt;Categorical&lt;/b&gt; adds the share of each class; &lt;b&gt;thresholds&lt;/b&gt; add the share of the zone below each value (e.g. 5 m on a DEM).&lt;/p&gt;&lt;p&gt;A zone outside the raster gets no value (NULL) and a reason, never 0.&lt;/p&gt;</source>
      <translation>&lt;p&gt;Résume un raster (altitude, occupation du sol, grille d'aléa) dans chaque zone avec la couverture exacte des pixels partiels (exactextract) ; les valeurs nodata sont masquées. &lt;b&gt;Statistiques&lt;/b&gt; : count, sum, mean, min, max, std, median, majority, minority, variety, coverage_pct. &lt;b&gt;Catégoriel&lt;/b&gt; ajoute la part de chaque classe ; les &lt;b&gt;seuils&lt;/b&gt; ajoutent la part de la zone sous chaque valeur (p. ex. 5 m sur un MNT).&lt;/p&gt;&lt;p&gt;Une zone hors du raster n'a pas de valeur (NULL) et une raison, jamais 0.&lt;/p&gt;</translation>
    </message>
    <message>
      <source>Raster</source>
      <translation>Raster</translation>
    </message>
    <message>
      <source>Band</source>
      <translation>Bande</translation>
    </message>
    <message>
      <source>Statistics</source>
      <translation>Statistiques</translation>
    </message>
    <message>
      <source>Percentiles (numbers from 0 to 100 separated by ';', e.g. 10;90)</source>
      <translation>Centiles (nombres de 0 à 100 séparés par « ; », p. ex. 10;90)</translation>
    </message>
    <message>
      <source>Categorical raster (share of each class)</source>
      <translation>Raster catégoriel (part de chaque classe)</translation>
    </message>
    <message>
      <source>Share of the zone below these values (numbers separated by ';')</source>
      <translation>Part de la zone sous ces valeurs (nombres séparés par « ; »)</translation>
    </message>
    <message>
      <source>Unit of the values (e.g. m)</source>
      <translation>Unité des valeurs (p. ex. m)</translation>
    </message>
    <message>
      <source>Column prefix (empty: the raster name)</source>
      <translation>Préfixe des colonnes (vide : nom du raster)</translation>
    </message>
    <message>
      <source>Zonal indicators</source>
      <translation>Indicateurs zonaux</translation>
    </message>
    <message>
      <source>The raster must be a file on disk (GeoTIFF…); save this layer to a file first.</source>
      <translation>Le raster doit être un fichier sur disque (GeoTIFF…) ; enregistrez d'abord cette couche dans un fichier.</translation>
    </message>
    <message>
      <source>acv-geo is not installed yet. Run 'Install acv-geo' (Processing toolbox › ACV Geo › Setup, or the Plugins › ACV Geo menu): it creates its own Python environment, QGIS's Python is not modified.</source>
      <translation>acv-geo n'est pas encore installé. Lancez « Installer acv-geo » (boîte à outils de traitements › ACV Geo › Installation, ou menu Extensions › ACV Geo) : il crée son propre environnement Python, le Python de QGIS n'est pas modifié.</translation>
    </message>
    <message>
      <source>This copy of the plugin carries no acv-geo wheel (wheels/ folder): install the plugin from its zip.</source>
      <translation>Cette copie de l'extension ne contient pas le paquet acv-geo (dossier wheels/) : installez l'extension depuis son zip.</translation>
    </message>
    <message>
      <source>Installation cancelled; run 'Install acv-geo' again to finish it.</source>
      <translation>Installation annulée ; relancez « Installer acv-geo » pour la terminer.</translation>
    </message>
    <message>
      <source>acv-geo is not installed and this copy of the plugin carries no acv-geo wheel: install the plugin from its zip, or set ACV_GEO_PYTHON to a Python that has acv-geo.</source>
      <translation>acv-geo n'est pas installé et cette copie de l'extension ne contient pas son paquet : installez l'extension depuis son zip, ou indiquez dans ACV_GEO_PYTHON un Python qui a acv-geo.</translation>
    </message>
    <message>
      <source> On Debian/Ubuntu: sudo apt install python3-venv.</source>
      <translation> Sous Debian/Ubuntu : sudo apt install python3-venv.</translation>
    </message>
    <message>
      <source>The Python interpreter chosen for acv-geo ({}) does not exist; fix the setting or the ACV_GEO_PYTHON variable, or clear it and run 'Install acv-geo'.</source>
      <translation>L'interpréteur Python choisi pour acv-geo ({}) n'existe pas ; corrigez le paramètre ou la variable ACV_GEO_PYTHON, ou videz-le et lancez « Installer acv-geo ».</translation>
    </message>
    <message>
      <source>The plugin carries a newer acv-geo ({}) than its environment ({}); it is upgraded before the next run, or now with 'Install acv-geo'.</source>
      <translation>L'extension contient un acv-geo plus récent ({}) que son environnement ({}) ; il est mis à jour avant le prochain traitement, ou dès maintenant avec « Installer acv-geo ».</translation>
    </message>
    <message>
      <source>No Python 3 interpreter found to create the environment; install Python 3 or choose one in the setting acv_geo/base_python. Commands to run by hand:
{}</source>
      <translation>Aucun interpréteur Python 3 trouvé pour créer l'environnement ; installez Python 3 ou choisissez-en un dans le paramètre acv_geo/base_python. Commandes à lancer à la main :
{}</translation>
    </message>
    <message>
      <source>Creating the environment {} with {}</source>
      <translation>Création de l'environnement {} avec {}</translation>
    </message>
    <message>
      <source>pip failed (exit code {}): {}
Commands to run by hand:
{}</source>
      <translation>pip a échoué (code de sortie {}) : {}
Commandes à lancer à la main :
{}</translation>
    </message>
    <message>
      <source>acv-geo was installed but does not start: {}</source>
      <translation>acv-geo a été installé mais ne démarre pas : {}</translation>
    </message>
    <message>
      <source>Could not create the environment ({}).{} Commands to run by hand:
{}</source>
      <translation>Impossible de créer l'environnement ({}).{} Commandes à lancer à la main :
{}</translation>
    </message>
    <message>
      <source>The Python package index {} could not be reached, or does not serve the packages acv-geo needs. Check the network or proxy (or set another index in the setting acv_geo/index_url), then run 'Install acv-geo' again, or run by hand:
{}</source>
      <translation>L'index des paquets Python {} est injoignable, ou ne fournit pas les paquets dont acv-geo a besoin. Vérifiez le réseau ou le proxy (ou indiquez un autre index dans le paramètre acv_geo/index_url), puis relancez « Installer acv-geo », ou lancez à la main :
{}</translation>
    </message>
    <message>
      <source>HH: high among high</source>
      <translation>HH : haut entouré de hauts</translation>
    </message>
    <message>
      <source>LL: low among low</source>
      <translation>LL : bas entouré de bas</translation>
    </message>
    <message>
      <source>HL: high among low</source>
      <translation>HL : haut entouré de bas</translation>
    </message>
    <message>
      <source>LH: low among high</source>
      <translation>LH : bas entouré de hauts</translation>
    </message>
    <message>
      <source>hot spot</source>
      <translation>point chaud</translation>
    </message>
    <message>
      <source>cold spot</source>
      <translation>point froid</translation>
    </message>
    <message>
      <source>BB cluster (yes among yes)</source>
      <translation>agrégat BB (oui entourés de oui)</translation>
    </message>
    <message>
      <source>not significant</source>
      <translation>non significatif</translation>
    </message>
    <message>
      <source>isolated (no neighbour)</source>
      <translation>isolée (sans voisin)</translation>
    </message>
    <message>
      <source>Publishes open data</source>
      <translation>Publie des données ouvertes</translation>
    </message>
    <message>
      <source>Publishes no open data</source>
      <translation>Ne publie pas de données ouvertes</translation>
    </message>
    <message>
      <source>No data</source>
      <translation>Pas de données</translation>
    </message>
    <message>
      <source>No value (excluded)</source>
      <translation>Pas de valeur (exclue)</translation>
    </message>
    <message>
      <source>{}: {} features handed to acv-geo</source>
      <translation>{} : {} entités transmises à acv-geo</translation>
    </message>
    <message>
      <source>{}: cannot be written for acv-geo ({})</source>
      <translation>{} : impossible de l'écrire pour acv-geo ({})</translation>
    </message>
    <message>
      <source>{}: no feature (or no selected feature)</source>
      <translation>{} : aucune entité (ou aucune entité sélectionnée)</translation>
    </message>
    <message>
      <source>acv-geo did not write the expected layer {} in {}</source>
      <translation>acv-geo n'a pas écrit la couche attendue {} dans {}</translation>
    </message>
    <message>
      <source>ACV Geo (analyses run by acv-geo in its own Python process)</source>
      <translation>ACV Geo (analyses exécutées par acv-geo dans son propre processus Python)</translation>
    </message>
    <message>
      <source>(no message)</source>
      <translation>(pas de message)</translation>
    </message>
    <message>
      <source>acv-geo process {} started</source>
      <translation>processus acv-geo {} démarré</translation>
    </message>
    <message>
      <source>Cancelled: the acv-geo process was stopped; earlier outputs are left as they were.</source>
      <translation>Annulé : le processus acv-geo a été arrêté ; les résultats précédents sont restés tels quels.</translation>
    </message>
    <message>
      <source>acv-geo finished in {:.1f} s (exit code {})</source>
      <translation>acv-geo a terminé en {:.1f} s (code de sortie {})</translation>
    </message>
    <message>
      <source>acv-geo stopped with exit code {}:
{}</source>
      <translation>acv-geo s'est arrêté avec le code de sortie {} :
{}</translation>
    </message>
    <message>
      <source>Could not start the acv-geo interpreter {}: {}</source>
      <translation>Impossible de démarrer l'interpréteur d'acv-geo {} : {}</translation>
    </message>
    <message>
      <source>acv-geo {} speaks event protocol {}, this plugin {}: update the plugin or run 'Install acv-geo'.</source>
      <translation>acv-geo {} parle le protocole d'événements {}, cette extension le {} : mettez à jour l'extension ou lancez « Installer acv-geo ».</translation>
    </message>
    <message>
      <source>Local Moran's I (LISA)</source>
      <translation>I de Moran local (LISA)</translation>
    </message>
    <message>
      <source>Getis-Ord Gi* (hot and cold spots)</source>
      <translation>Gi* de Getis-Ord (points chauds et froids)</translation>
    </message>
    <message>
      <source>Local join counts (yes/no)</source>
      <translation>Join counts locaux (oui/non)</translation>
    </message>
  </context>
</TS>
